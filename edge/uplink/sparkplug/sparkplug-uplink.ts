import type { IConnackPacket, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { EVENT_SCHEMA_VERSION } from '../../events/model.js';
import type { StoredRow } from '../../outbox/outbox.js';
import { UplinkConnection } from '../connection.js';
import { redactUrl } from '../connect-options.js';
import { DeviceAvailability } from '../device-availability.js';
import { newUplinkStats, type UplinkHealth } from '../health.js';
import { OversizeGuard } from '../oversize.js';
import type { UplinkOptions } from '../uplink.js';
import { BdSeq } from './bdseq.js';
import { DataType, decodePayload, encodePayload, type SparkplugPayload } from './codec.js';
import { SparkplugDevices } from './devices.js';
import { HostState } from './host-state.js';
import { NODE_METRICS, SparkplugMetrics } from './metrics.js';
import { SparkplugTopics, type DeviceVerb } from './topics.js';

/**
 * The gateway as a Sparkplug B 3.0 edge node (uplink.mode sparkplug), publishing the same durable
 * outbox as the JSON uplink:
 * - CONNECT with a clean session (3.1.1 Clean Session; 5.0 Clean Start + Session Expiry 0) and
 *   the NDEATH as will (QoS 1, not retained) carrying bdSeq, one more on every CONNECT (bdseq.ts);
 * - subscribe NCMD and DCMD (QoS 1) and, with a primary host, its STATE; with a primary host the
 *   NBIRTH waits for its STATE online (timestamps never go back: host-state.ts), and an offline
 *   STATE (not older than the last online one) ends the session: NDEATH, disconnect, reconnect;
 * - NBIRTH (seq 0, bdSeq of the will, every metric with name + alias, template definitions,
 *   Node Control/Rebirth false without alias), a DBIRTH per device, then the backlog in commit
 *   order as NDATA (rows written before this birth are is_historical), then the live stream;
 *   seq 0-255 wrapping over every message but NDEATH; DDEATH / DBIRTH / DDATA as devices change;
 * - NCMD Node Control/Rebirth true: data stops, NBIRTH (same bdSeq) + DBIRTHs, then the stream
 *   resumes from the oldest row the broker has not confirmed;
 * - DATA must be QoS 0 in Sparkplug, so there is no PUBACK: after each NDATA the node sends an
 *   UNSUBSCRIBE of a topic it never subscribed (topics.fence); the broker answers it only after
 *   it has processed the packets sent before, so rows are marked delivered on that UNSUBACK. A
 *   connection lost before it means those rows go out again after the next birth (same seq/id).
 * - stop: an NDEATH, then DISCONNECT (MQTT 5: reason 0x04, disconnect with will message).
 * JSON platform commands are not served in this mode; the host's NCMD rebirth is.
 */
export interface SparkplugUplinkOptions extends UplinkOptions {
  /** file keeping bdSeq across restarts (default: in memory, from 0) */
  bdSeqFile?: string;
}

type Phase = 'offline' | 'subscribing' | 'waiting-host' | 'born';

export class SparkplugUplink {
  readonly topics: SparkplugTopics;
  readonly availability: DeviceAvailability;
  private readonly connection: UplinkConnection;
  private readonly bdSeq: BdSeq;
  private readonly metrics: SparkplugMetrics;
  private readonly devices: SparkplugDevices;
  private readonly host: HostState;
  private readonly oversize: OversizeGuard;
  private readonly stats = newUplinkStats();
  private readonly log: Logger;
  private client: MqttClient | null = null;
  private phase: Phase = 'offline';
  private nextSeqValue = 0;
  private bornAtWall = 0;
  private cursor = 0;
  private unconfirmed = 0;
  private stopPromise: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  readonly counters = { births: 0, rebirths: 0, ndata: 0, hostOffline: 0, fences: 0 };

  constructor(private readonly o: SparkplugUplinkOptions) {
    const sp = o.config.sparkplug;
    this.log = o.log;
    this.topics = new SparkplugTopics(sp?.groupId ?? o.site, sp?.edgeNodeId ?? o.gatewayId);
    this.bdSeq = new BdSeq(o.bdSeqFile);
    this.host = new HostState(sp?.primaryHostId ?? null);
    this.metrics = new SparkplugMetrics({
      version: o.version,
      startedAt: o.startedAt,
      eventSchema: EVENT_SCHEMA_VERSION,
    });
    this.availability = new DeviceAvailability(o.clock.wallMs);
    this.devices = new SparkplugDevices(this.availability, this.metrics, o.clock.wallMs);
    this.availability.onChange((d) => {
      if (this.phase === 'born') this.devices.changed(d, this.sendDevice);
    });
    this.oversize = new OversizeGuard({
      configuredMaxBytes: o.config.maxPacketBytes,
      protocolVersion: o.config.protocolVersion,
      outbox: o.outbox,
      clock: o.clock,
      log: o.log,
    });
    this.connection = new UplinkConnection({
      config: o.config,
      gatewayId: o.gatewayId,
      session: 'clean',
      will: () => ({
        topic: this.topics.node('NDEATH'),
        payload: this.ndeath(this.bdSeq.next()),
        retain: false,
      }),
      clock: o.clock,
      log: o.log,
      stats: this.stats,
      random: o.random,
      hooks: {
        connected: (client, connack) => this.onConnect(client, connack),
        message: (topic, payload) => this.onMessage(topic, payload),
        dropped: () => this.onDropped(),
      },
    });
  }

  get connected(): boolean {
    return this.connection.state === 'connected';
  }

  get sessionPhase(): Phase {
    return this.phase;
  }

  start(): void {
    if (this.connection.state !== 'idle') return;
    this.unsubscribe = this.o.outbox.onCommitted((events) => {
      this.availability.observe(events);
      this.pump();
    });
    this.refreshDevices();
    this.pollTimer = setInterval(() => this.refreshDevices(), 1000);
    this.pollTimer.unref();
    this.connection.open();
  }

  private refreshDevices(): void {
    if (!this.o.devices) return;
    try {
      this.availability.refresh(this.o.devices());
    } catch (err) {
      this.log.warn({ err }, 'device health snapshot failed');
    }
    if (this.phase === 'born') this.devices.forgotten(this.sendDevice);
  }

  /** NDEATH: only the bdSeq metric, no seq. */
  private ndeath(bdSeq: number): Buffer {
    const spec = NODE_METRICS.bdSeq;
    return encodePayload({
      timestamp: this.o.clock.wallMs(),
      metrics: [{ name: spec.name, datatype: DataType.Int64, longValue: bdSeq }],
    });
  }

  private seq(): number {
    const s = this.nextSeqValue;
    this.nextSeqValue = (s + 1) % 256;
    return s;
  }

  private publish(topic: string, payload: SparkplugPayload): void {
    const client = this.client;
    if (!client) return;
    client.publish(topic, encodePayload({ ...payload, seq: this.seq() }), { qos: 0 });
    this.stats.published++;
  }

  private readonly sendDevice = (verb: DeviceVerb, deviceId: string, p: SparkplugPayload) =>
    this.publish(this.topics.device(verb, deviceId), p);

  private onConnect(client: MqttClient, connack: IConnackPacket): void {
    this.client = client;
    this.phase = 'subscribing';
    // a birth is a burst of small QoS 0 writes: without TCP_NODELAY, Nagle's algorithm holds
    // them behind the broker's delayed ACK (~40 ms per rebirth measured)
    const stream = client.stream as { setNoDelay?: (on: boolean) => void } | undefined;
    stream?.setNoDelay?.(true);
    this.host.newSession();
    this.oversize.limit.setBroker(connack.properties?.maximumPacketSize);
    this.log.info(
      {
        url: redactUrl(this.o.config.url),
        bdSeq: this.bdSeq.current,
        node: this.topics.node('NBIRTH'),
      },
      'sparkplug session connected',
    );
    const subs: Record<string, { qos: 1 }> = {
      [this.topics.node('NCMD')]: { qos: 1 },
      [this.topics.dcmdFilter]: { qos: 1 },
    };
    if (this.host.hostId) subs[this.topics.state(this.host.hostId)] = { qos: 1 };
    client.subscribe(subs, (err) => {
      if (this.client !== client) return;
      if (err) {
        this.stats.lastError = err.message;
        this.connection.drop(client);
        return;
      }
      if (!this.host.hostId || this.host.online) this.birth();
      else this.phase = 'waiting-host';
    });
  }

  /** NBIRTH + DBIRTHs, then the stream from the oldest unconfirmed row (also a rebirth). */
  birth(): void {
    if (!this.client) return;
    const now = this.o.clock.wallMs();
    this.phase = 'born';
    this.bornAtWall = now;
    this.nextSeqValue = 0;
    this.counters.births++;
    this.publish(this.topics.node('NBIRTH'), {
      timestamp: now,
      metrics: this.metrics.birth(this.bdSeq.current ?? 0, now),
    });
    this.devices.birth(this.sendDevice);
    this.cursor = 0;
    this.pump();
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (this.host.hostId && topic === this.topics.state(this.host.hostId)) {
      const verdict = this.host.receive(payload);
      if (verdict === 'online' && this.phase === 'waiting-host') this.birth();
      if (verdict === 'offline' && this.phase === 'born') this.hostWentOffline();
      return;
    }
    if (topic === this.topics.node('NCMD')) {
      let p: SparkplugPayload;
      try {
        p = decodePayload(payload);
      } catch (err) {
        this.log.warn({ err }, 'NCMD not a Sparkplug payload: ignored');
        return;
      }
      const rebirth = (p.metrics ?? []).some(
        (m) => m.name === NODE_METRICS.rebirth.name && m.booleanValue === true,
      );
      if (rebirth && this.phase === 'born') {
        this.counters.rebirths++;
        this.log.info('rebirth requested by the host application');
        this.birth();
      } else if (!rebirth) {
        this.log.warn({ metrics: (p.metrics ?? []).map((m) => m.name ?? m.alias) }, 'NCMD ignored');
      }
      return;
    }
    this.log.warn({ topic }, 'DCMD ignored: no writable device metrics');
  }

  /** The primary host went offline: NDEATH, leave, and start the connection over. */
  private hostWentOffline(): void {
    const client = this.client;
    if (!client) return;
    this.counters.hostOffline++;
    this.log.warn({ host: this.host.hostId }, 'primary host offline: NDEATH and reconnect');
    this.phase = 'offline';
    const leave = () => {
      if (this.client === client) this.connection.drop(client);
    };
    const timer = setTimeout(leave, 2000);
    client.publish(
      this.topics.node('NDEATH'),
      this.ndeath(this.bdSeq.current ?? 0),
      { qos: 1 },
      () => {
        clearTimeout(timer);
        leave();
      },
    );
  }

  private onDropped(): void {
    this.client = null;
    this.phase = 'offline';
    this.unconfirmed = 0;
    this.devices.reset();
  }

  /** Publish stored rows as NDATA while the broker has confirmed enough of what was sent. */
  pump(): void {
    const client = this.client;
    if (!client || this.phase !== 'born') return;
    const sp = this.o.config.sparkplug;
    const batch = sp?.batchMaxEvents ?? 200;
    const limit = sp?.unconfirmedMaxEvents ?? 2000;
    while (this.unconfirmed < limit) {
      const rows = this.o.outbox.pending(this.cursor, Math.min(batch, limit - this.unconfirmed));
      if (rows.length === 0) break;
      this.cursor = rows[rows.length - 1]!.pos;
      const sendable = this.fitting(rows);
      if (sendable.length === 0) continue;
      const metrics = sendable.flatMap((r) => this.metrics.data(r, this.historical(r)));
      this.publish(this.topics.node('NDATA'), { timestamp: this.o.clock.wallMs(), metrics });
      this.counters.ndata++;
      this.fence(
        client,
        sendable.map((r) => r.pos),
      );
    }
  }

  private historical(row: StoredRow): boolean {
    return Date.parse(row.time) < this.bornAtWall;
  }

  /** Rows whose NDATA alone would exceed the broker's packet limit are parked (with an alarm). */
  private fitting(rows: StoredRow[]): StoredRow[] {
    if (this.oversize.limit.bytes === null) return rows;
    const topic = this.topics.node('NDATA');
    const size = (rs: StoredRow[]) =>
      encodePayload({
        timestamp: 0,
        seq: 255,
        metrics: rs.flatMap((r) => this.metrics.data(r, true)),
      }).length;
    const out: StoredRow[] = [];
    for (const row of rows) {
      const over = this.oversize.excess({ topic, payloadBytes: size([...out, row]), qos: 0 });
      if (!over) {
        out.push(row);
        continue;
      }
      const alone = this.oversize.excess({ topic, payloadBytes: size([row]), qos: 0 });
      if (alone) this.oversize.park(row, alone.bytes, alone.limit);
      else {
        this.cursor = out.length > 0 ? out[out.length - 1]!.pos : this.cursor;
        return out; // the rest goes in the next NDATA
      }
    }
    return out;
  }

  /** UNSUBSCRIBE round trip: on its UNSUBACK the broker has processed the NDATA before it. */
  private fence(client: MqttClient, positions: number[]): void {
    this.unconfirmed += positions.length;
    this.counters.fences++;
    client.unsubscribe(this.topics.fence, (err) => {
      if (this.client !== client) return; // that connection is gone: the rows go out again
      this.unconfirmed -= positions.length;
      if (err) {
        this.stats.lastError = err.message;
        this.connection.drop(client);
        return;
      }
      try {
        this.o.outbox.markDelivered(positions);
        this.stats.acked += positions.length;
      } catch (err2) {
        this.log.error({ err: err2 }, 'marking delivered failed');
      }
      this.pump();
    });
  }

  health(): UplinkHealth & { sparkplug: Record<string, unknown> } {
    const s = this.stats;
    return {
      state: this.connection.state,
      url: redactUrl(this.o.config.url),
      protocolVersion: this.o.config.protocolVersion,
      connects: s.connects,
      disconnects: s.disconnects,
      published: s.published,
      acked: s.acked,
      timeouts: s.timeouts,
      replayed: 0,
      maxInFlightSeen: s.maxInFlightSeen,
      inFlight: this.unconfirmed,
      window: this.o.config.sparkplug?.unconfirmedMaxEvents ?? 2000,
      receiveMaximum: null,
      replayActive: false,
      lastError: s.lastError,
      ...this.oversize.health(),
      nextRetryInMs: this.connection.nextRetryInMs(),
      sparkplug: {
        phase: this.phase,
        groupId: this.topics.groupId,
        edgeNodeId: this.topics.edgeNodeId,
        bdSeq: this.bdSeq.current,
        primaryHost: this.host.hostId,
        primaryHostOnline: this.host.online,
        devicesBorn: this.devices.bornCount,
        ...this.counters,
      },
    };
  }

  /** An intentional disconnect: NDEATH first, then DISCONNECT (MQTT 5: with will message). */
  stop(): Promise<void> {
    if (!this.stopPromise) {
      this.stopPromise = (async () => {
        this.unsubscribe?.();
        if (this.pollTimer) clearInterval(this.pollTimer);
        const client = this.connection.detach();
        this.client = null;
        this.phase = 'offline';
        if (!client) return;
        client.removeAllListeners();
        client.on('error', () => {});
        if (client.connected) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 1000);
            client.publish(
              this.topics.node('NDEATH'),
              this.ndeath(this.bdSeq.current ?? 0),
              { qos: 1 },
              () => {
                clearTimeout(t);
                resolve();
              },
            );
          });
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 2000);
          const opts = this.o.config.protocolVersion === 5 ? { reasonCode: 4 } : {};
          client.end(!client.connected, opts, () => {
            clearTimeout(t);
            resolve();
          });
        });
      })();
    }
    return this.stopPromise;
  }
}
