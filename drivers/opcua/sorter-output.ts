import {
  AttributeIds,
  DataType,
  Variant,
  type ClientSession,
  type NodeId,
} from 'node-opcua-client';
import { EdgeError } from '../../edge/errors.js';
import type { DecisionHandOff, HandOffAck } from './api.js';
import type { HandOffAckConfig, HandOffValue, OpcuaOutputConfig } from './config-schema.js';
import { parseNodeId } from './node-address.js';

/**
 * A decision handed to a sorter PLC the way sorter vendors take it: keyed by what the PLC knows
 * the parcel by (waybill, its own tracking id from induction, or an induction count), the lane's
 * destination code in the PLC's data type, either as a method call (arguments by position or by
 * name) or as register writes followed by a strobe; then acknowledged (the method's status or an
 * output argument, the registers read back, or a handshake variable the PLC sets). A hand-off
 * without its acknowledgement within `ack.timeoutMs` fails with EDGE_PLC_ACK; the gateway
 * (edge/sorter) retries while there is time and alarms when there is none.
 */

const ACK_DEFAULTS: HandOffAckConfig = {
  mode: 'methodStatus',
  outputIndex: 0,
  okValues: [true, 0, 'OK'],
  expect: 'strobe',
  timeoutMs: 1000,
  pollMs: 10,
};

const NAMED_TYPES = {
  Boolean: DataType.Boolean,
  String: DataType.String,
  Int16: DataType.Int16,
  Int32: DataType.Int32,
  UInt16: DataType.UInt16,
  UInt32: DataType.UInt32,
} as const;

const INT_RANGE: Partial<Record<DataType, [number, number]>> = {
  [DataType.SByte]: [-128, 127],
  [DataType.Byte]: [0, 255],
  [DataType.Int16]: [-32_768, 32_767],
  [DataType.UInt16]: [0, 65_535],
  [DataType.Int32]: [-2_147_483_648, 2_147_483_647],
  [DataType.UInt32]: [0, 4_294_967_295],
};

/** A value in the PLC's data type; an integer out of range is EDGE_PLC_DESTINATION. */
export function plcValue(
  value: number | string | boolean,
  dataType: DataType,
  what: string,
): unknown {
  if (dataType === DataType.String) return String(value);
  if (dataType === DataType.Boolean) return Boolean(value);
  const n = typeof value === 'number' ? value : Number(value);
  const range = INT_RANGE[dataType];
  if (range) {
    if (!Number.isInteger(n) || n < range[0] || n > range[1])
      throw new EdgeError(
        'EDGE_PLC_DESTINATION',
        `${what} ${JSON.stringify(value)} does not fit ${DataType[dataType]} (${range[0]}..${range[1]})`,
      );
    return n;
  }
  if (!Number.isFinite(n))
    throw new EdgeError('EDGE_PLC_DESTINATION', `${what} ${JSON.stringify(value)} is not a number`);
  return n;
}

/** The key the PLC knows the parcel by; none is EDGE_PLC_NO_KEY (no UUID the PLC cannot know). */
export function handOffKey(o: Pick<OpcuaOutputConfig, 'keyBy'>, d: DecisionHandOff): string {
  const kind = o.keyBy ?? 'waybill';
  const key =
    kind === 'waybill'
      ? d.keys.waybill
      : kind === 'plcTrackingId'
        ? d.keys.plcTracking
        : String(d.keys.inductionSeq);
  if (key === null || key.length === 0) {
    throw new EdgeError(
      'EDGE_PLC_NO_KEY',
      kind === 'waybill'
        ? `parcel ${d.parcelId} has no valid waybill read: the PLC (keyed by waybill) cannot know it`
        : `parcel ${d.parcelId} was given no PLC tracking id at induction`,
    );
  }
  return key;
}

function okValue(v: unknown, ok: readonly (boolean | number | string)[]): boolean {
  return ok.some((x) =>
    typeof x === 'number' ? Number(v) === x && v !== null && v !== '' : v === x,
  );
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EdgeError('EDGE_PLC_ACK', `${what}: no acknowledgement within ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class SorterOutput {
  private readonly ack: HandOffAckConfig;
  /** register writes share one set of registers: one hand-off at a time */
  private chain: Promise<unknown> = Promise.resolve();
  private sequence = 0;
  private definition: { name: string; dataType: DataType }[] | null = null;

  constructor(
    private readonly o: OpcuaOutputConfig,
    private readonly serverId: string,
  ) {
    const byMethod = o.methodId !== undefined;
    this.ack = { ...ACK_DEFAULTS, mode: byMethod ? 'methodStatus' : 'readBack', ...o.ack };
    if (!byMethod && !(o.keyNodeId ?? o.trackingIdNodeId) && !(o.destinationNodeId ?? o.laneNodeId))
      throw new EdgeError(
        'EDGE_OPCUA_UNKNOWN_NAME',
        `decision ${o.name} needs a methodId, or keyNodeId + destinationNodeId`,
      );
  }

  /** Forget what was read from the server (a new session may differ). */
  reset(): void {
    this.definition = null;
  }

  handOff(
    session: ClientSession,
    namespaces: readonly string[],
    d: DecisionHandOff,
  ): Promise<HandOffAck> {
    const key = handOffKey(this.o, d);
    const started = performance.now();
    const what = `hand-off of ${key} to ${this.serverId}/${this.o.name}`;
    const run = async (): Promise<HandOffAck> => {
      const via = this.o.methodId
        ? await this.byMethod(session, namespaces, d, key)
        : await this.byWrites(session, namespaces, d, key);
      return { key, via, ackMs: Math.round((performance.now() - started) * 10) / 10 };
    };
    if (this.o.methodId) return timeout(run(), this.ack.timeoutMs, what);
    const next = this.chain.then(() => timeout(run(), this.ack.timeoutMs, what));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private value(token: HandOffValue, d: DecisionHandOff, key: string): number | string {
    switch (token) {
      case 'key':
        return key;
      case 'destination':
        return d.destination;
      case 'lane':
        return d.lane;
      case 'parcelId':
        return d.parcelId;
      case 'sequence':
        return d.seq;
    }
  }

  private async byMethod(
    session: ClientSession,
    namespaces: readonly string[],
    d: DecisionHandOff,
    key: string,
  ): Promise<HandOffAck['via']> {
    const o = this.o;
    const objectId = parseNodeId(o.objectId ?? '', namespaces);
    const methodId = parseNodeId(o.methodId ?? '', namespaces);
    if (!this.definition) {
      const def = await session.getArgumentDefinition(methodId);
      this.definition = def.inputArguments.map((a) => ({
        name: a.name ?? '',
        dataType: a.dataType.namespace === 0 ? Number(a.dataType.value) : DataType.String,
      }));
    }
    const def = this.definition;
    const spec = o.arguments ?? ['key', 'destination'];
    const values: (number | string | undefined)[] = def.map(() => undefined);
    const tokens: (HandOffValue | undefined)[] = def.map(() => undefined);
    spec.forEach((a, i) => {
      const index = typeof a === 'string' ? i : def.findIndex((x) => x.name === a.name);
      if (index < 0 || index >= def.length)
        throw new EdgeError(
          'EDGE_OPCUA_UNKNOWN_NAME',
          `method ${o.name} has no input argument ${typeof a === 'string' ? `#${i}` : `'${a.name}'`} (it takes ${def.map((x) => x.name).join(', ')})`,
        );
      const token = typeof a === 'string' ? a : a.value;
      tokens[index] = token;
      values[index] = this.value(token, d, key);
    });
    const inputArguments = def.map((a, i) => {
      const token = tokens[i];
      const v = values[i];
      if (v === undefined)
        throw new EdgeError(
          'EDGE_OPCUA_UNKNOWN_NAME',
          `method ${o.name}: argument '${a.name}' has no value configured`,
        );
      const what = `${token ?? 'argument'} of ${o.name}`;
      // the PLC's own range for destination codes (destinationType), then the argument's type
      if (token === 'destination' && o.destinationType)
        plcValue(v, NAMED_TYPES[o.destinationType], what);
      return new Variant({ dataType: a.dataType, value: plcValue(v, a.dataType, what) });
    });
    const result = await session.call({ objectId, methodId, inputArguments });
    if (!result.statusCode.isGood())
      throw new EdgeError('EDGE_PLC_ACK', `PLC refused ${key}: ${result.statusCode.name}`);
    const outputs = (result.outputArguments ?? []).map((v) => v.value as unknown);
    if (this.ack.mode === 'methodOutput') {
      const v = outputs[this.ack.outputIndex];
      if (!okValue(v, this.ack.okValues))
        throw new EdgeError('EDGE_PLC_ACK', `PLC refused ${key}: output ${JSON.stringify(v)}`);
      return 'methodOutput';
    }
    if (outputs[0] === false)
      throw new EdgeError('EDGE_PLC_ACK', `PLC refused decision for ${key}`);
    if (this.ack.mode === 'handshake') {
      await this.awaitHandshake(session, namespaces, key, null, d.seq);
      return 'handshake';
    }
    return 'methodStatus';
  }

  private async write(
    session: ClientSession,
    nodeId: NodeId,
    dataType: DataType,
    value: unknown,
  ): Promise<void> {
    const status = await session.write({
      nodeId,
      attributeId: AttributeIds.Value,
      value: { value: new Variant({ dataType, value }) },
    });
    if (!status.isGood())
      throw new EdgeError(
        'EDGE_OPCUA_WRITE',
        `write ${nodeId.toString()} rejected: ${status.name}`,
      );
  }

  private async read(session: ClientSession, nodeId: NodeId): Promise<unknown> {
    const dv = await session.read({ nodeId, attributeId: AttributeIds.Value });
    return dv.value.value as unknown;
  }

  private async byWrites(
    session: ClientSession,
    namespaces: readonly string[],
    d: DecisionHandOff,
    key: string,
  ): Promise<HandOffAck['via']> {
    const o = this.o;
    const keyNode = parseNodeId(o.keyNodeId ?? o.trackingIdNodeId ?? '', namespaces);
    const destNode = parseNodeId(o.destinationNodeId ?? o.laneNodeId ?? '', namespaces);
    const keyType = NAMED_TYPES[o.keyType ?? 'String'];
    const destType = NAMED_TYPES[o.destinationType ?? 'Int32'];
    const keyValue = plcValue(key, keyType, `key of ${o.name}`);
    const destValue = plcValue(d.destination, destType, `destination of ${o.name}`);
    const sequence = ++this.sequence;
    if (o.sequenceNodeId)
      await this.write(
        session,
        parseNodeId(o.sequenceNodeId, namespaces),
        DataType.UInt32,
        sequence,
      );
    await this.write(session, keyNode, keyType, keyValue);
    await this.write(session, destNode, destType, destValue);
    let strobe: boolean | number | null = null;
    if (o.strobeNodeId) {
      const node = parseNodeId(o.strobeNodeId, namespaces);
      const current = await this.read(session, node);
      if ((o.strobeType ?? 'Boolean') === 'Boolean') {
        strobe = !current;
        await this.write(session, node, DataType.Boolean, strobe);
      } else {
        strobe = ((Number(current) || 0) + 1) % 4_294_967_296;
        await this.write(session, node, DataType.UInt32, strobe);
      }
    }
    if (this.ack.mode === 'handshake') {
      await this.awaitHandshake(session, namespaces, keyValue, strobe, sequence);
      return 'handshake';
    }
    // read-back: the PLC's registers hold what was written
    const [k, v] = [await this.read(session, keyNode), await this.read(session, destNode)];
    if (String(k) !== String(keyValue) || String(v) !== String(destValue))
      throw new EdgeError(
        'EDGE_PLC_ACK',
        `read-back of ${key}: key ${String(k)}, destination ${String(v)}`,
      );
    return 'readBack';
  }

  /** Poll the handshake variable until the PLC sets it to what this hand-off expects. */
  private async awaitHandshake(
    session: ClientSession,
    namespaces: readonly string[],
    key: unknown,
    strobe: boolean | number | null,
    sequence: number,
  ): Promise<void> {
    if (!this.ack.nodeId)
      throw new EdgeError(
        'EDGE_OPCUA_UNKNOWN_NAME',
        `decision ${this.o.name}: handshake needs ack.nodeId`,
      );
    const node = parseNodeId(this.ack.nodeId, namespaces);
    const expected =
      this.ack.expect === 'key' ? key : this.ack.expect === 'sequence' ? sequence : strobe;
    // stops polling at the timeout (the caller has given up by then)
    const deadline = performance.now() + this.ack.timeoutMs;
    let v: unknown;
    while (performance.now() < deadline) {
      v = await this.read(session, node);
      if (String(v) === String(expected)) return;
      await sleep(this.ack.pollMs);
    }
    throw new EdgeError(
      'EDGE_PLC_ACK',
      `handshake ${this.ack.nodeId}: ${String(v)}, expected ${String(expected)}`,
    );
  }
}
