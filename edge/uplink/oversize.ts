import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Outbox, StoredRow, UnexplainedParkedRow } from '../outbox/outbox.js';
import {
  PacketLimit,
  publishPacketBytes,
  tooLargeReply,
  UPLINK_OVERSIZE_ALARM,
  type PublishShape,
  type UplinkOversizeAlarm,
} from './packet-size.js';
import { eventDraft } from '../events/payloads/draft.js';

/**
 * What the uplink does with a publish larger than the broker accepts (a broker disconnects a
 * client that sends one: MQTT 5 DISCONNECT 0x95, Mosquitto 3.1.1 just closes), so one large row
 * never blocks the stream behind it in a reconnect loop:
 * - an event row is parked in the outbox (kept on disk with the reason, out of the pending set)
 *   and, in the same transaction, an `alarm.uplink-oversize` event names its stream and seq (so a
 *   seq gap is never unexplained); the stream goes on; a later replay sends it once the limit
 *   allows (and then marks it delivered). A parked event row without its alarm (a file written by
 *   the earlier, non-atomic code) gets one when the guard is created (uplink construction);
 * - a telemetry row is parked without an alarm and counted (telemetry is a sample, not a record);
 * - a command reply is replaced by a short EDGE_UPLINK_TOO_LARGE error reply.
 */

export interface OversizeHealth {
  /** the limit in force (bytes), null when neither the broker nor the config sets one */
  maxPacketBytes: number | null;
  /** event rows parked because they exceed the limit (each also raised an alarm event) */
  parkedOversize: number;
  /** telemetry rows parked (dropped from the live stream) because they exceed the limit */
  telemetryDroppedOversize: number;
  /** command replies replaced by an EDGE_UPLINK_TOO_LARGE error reply */
  repliesTooLarge: number;
  /** rows a replay skipped because they still exceed the limit */
  replaySkippedOversize: number;
}

export interface OversizeGuardOptions {
  configuredMaxBytes: number | undefined;
  protocolVersion: 4 | 5;
  outbox: Outbox;
  clock: Clock;
  log: Logger;
}

export class OversizeGuard {
  readonly limit: PacketLimit;
  private readonly counters = {
    parkedOversize: 0,
    telemetryDroppedOversize: 0,
    repliesTooLarge: 0,
    replaySkippedOversize: 0,
  };

  constructor(private readonly o: OversizeGuardOptions) {
    this.limit = new PacketLimit(o.configuredMaxBytes);
    this.explainParked();
  }

  /**
   * Give every parked event row that no alarm names its `alarm.uplink-oversize` event (one per
   * row, idempotent); returns how many alarms were stored. Failures are logged, never thrown.
   */
  explainParked(): number {
    let rows: UnexplainedParkedRow[];
    try {
      rows = this.o.outbox.unexplainedParked(UPLINK_OVERSIZE_ALARM);
    } catch (err) {
      this.o.log.error({ err }, 'looking for parked rows without an alarm failed');
      return 0;
    }
    let raised = 0;
    for (const row of rows) {
      const { bytes, limit } = parkedSizes(row, this.limit.bytes);
      try {
        if (this.o.outbox.explainParked(row.pos, this.alarmDraft(row, bytes, limit))) raised++;
      } catch (err) {
        this.o.log.error({ err, stream: row.stream, seq: row.seq }, 'oversize alarm not recorded');
      }
    }
    if (raised > 0) {
      this.o.log.warn({ alarms: raised }, 'parked rows without an alarm: alarms recorded now');
    }
    return raised;
  }

  /** Packet bytes of a publish when it exceeds the limit in force, else null (send it). */
  excess(shape: Omit<PublishShape, 'protocolVersion'>): { bytes: number; limit: number } | null {
    const limit = this.limit.bytes;
    if (limit === null) return null;
    const bytes = publishPacketBytes({ ...shape, protocolVersion: this.o.protocolVersion });
    return bytes > limit ? { bytes, limit } : null;
  }

  /** A live row too large to send: park it (events also raise the alarm event). */
  park(row: StoredRow, bytes: number, limit: number): void {
    const details = {
      stream: row.stream,
      seq: row.seq,
      pos: row.pos,
      type: row.type,
      bytes,
      limit,
    };
    const reason = parkReason(bytes, limit);
    try {
      if (row.stream === 'telemetry') {
        this.o.outbox.park(row.pos, reason);
      } else {
        // the row and its alarm together or neither
        this.o.outbox.parkWithAlarm(row.pos, reason, this.alarmDraft(row, bytes, limit));
      }
    } catch (err) {
      // not parked, no alarm: it stays pending and is skipped again on this connection only
      this.o.log.error({ err, ...details }, 'parking an oversize row failed');
      return;
    }
    if (row.stream === 'telemetry') {
      this.counters.telemetryDroppedOversize++;
      this.o.log.warn(details, 'telemetry too large for the broker: dropped (parked), not sent');
      return;
    }
    this.counters.parkedOversize++;
    this.o.log.warn(details, 'event too large for the broker: parked, not sent; stream continues');
  }

  private alarmDraft(
    row: Pick<StoredRow, 'stream' | 'seq' | 'id' | 'type'>,
    bytes: number,
    limit: number,
  ) {
    const payload: UplinkOversizeAlarm = {
      stream: row.stream,
      seq: row.seq,
      id: row.id,
      type: row.type,
      bytes,
      limit,
    };
    return eventDraft(UPLINK_OVERSIZE_ALARM, null, this.o.clock.monoMs(), payload);
  }

  /** A replayed row still too large: skipped (it stays parked or pending). */
  skipReplay(row: StoredRow, bytes: number, limit: number): void {
    this.counters.replaySkippedOversize++;
    this.o.log.warn(
      { stream: row.stream, seq: row.seq, bytes, limit },
      'replay skipped a row too large for the broker',
    );
  }

  /** A parked row went out in a replay and was acknowledged. */
  delivered(row: StoredRow): void {
    try {
      if (this.o.outbox.markParkedDelivered(row.pos)) {
        this.o.log.info({ stream: row.stream, seq: row.seq }, 'parked row delivered by a replay');
      }
    } catch (err) {
      this.o.log.error({ err, pos: row.pos }, 'marking a parked row delivered failed');
    }
  }

  /**
   * The payload to publish as a command reply: the reply itself, or the short error reply when
   * it is too large; null when even that does not fit (the limit is absurdly small).
   */
  reply(topic: string, payload: string, correlationDataBytes: number | undefined): string | null {
    const shape = (p: string) => ({
      topic,
      payloadBytes: Buffer.byteLength(p, 'utf8'),
      qos: 1 as const,
      ...(correlationDataBytes !== undefined ? { correlationDataBytes } : {}),
    });
    const over = this.excess(shape(payload));
    if (!over) return payload;
    this.counters.repliesTooLarge++;
    const command = topic.slice(topic.lastIndexOf('/') + 1);
    const short = tooLargeReply(
      payload,
      over.bytes,
      over.limit,
      command,
      new Date(this.o.clock.wallMs()).toISOString(),
    );
    this.o.log.warn({ topic, ...over }, 'command reply too large for the broker: error reply sent');
    return this.excess(shape(short)) ? null : short;
  }

  health(): OversizeHealth {
    return { maxPacketBytes: this.limit.bytes, ...this.counters };
  }
}

const REASON = /^packet of (\d+) bytes exceeds the broker limit of (\d+)$/;

function parkReason(bytes: number, limit: number): string {
  return `packet of ${bytes} bytes exceeds the broker limit of ${limit}`;
}

/**
 * Packet size and limit of a row parked earlier, read back from its stored reason; for a reason
 * in another form: its payload bytes (a lower bound) and the limit in force now (0 if unknown).
 */
function parkedSizes(
  row: UnexplainedParkedRow,
  limitNow: number | null,
): { bytes: number; limit: number } {
  const m = REASON.exec(row.reason);
  if (m) return { bytes: Number(m[1]), limit: Number(m[2]) };
  return { bytes: row.payloadBytes, limit: limitNow ?? 0 };
}
