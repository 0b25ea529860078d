import {
  AttributeIds,
  DataType,
  Variant,
  type ClientSession,
  type NodeId,
} from 'node-opcua-client';
import { EdgeError } from '../../edge/errors.js';
import type { DecisionHandOff } from './api.js';
import type { OpcuaOutputConfig } from './config-schema.js';
import { parseNodeId, resolveAddress } from './node-address.js';

/**
 * Writes and method calls by named output: a decision handed to a sorter PLC keyed by tracking
 * id (a method call, or writes of tracking id and lane followed by a strobe toggle), the
 * gateway's own life bit, any configured variable or method.
 */

const DATA_TYPES: Record<NonNullable<OpcuaOutputConfig['dataType']>, DataType> = {
  Boolean: DataType.Boolean,
  String: DataType.String,
  Int16: DataType.Int16,
  Int32: DataType.Int32,
  UInt16: DataType.UInt16,
  UInt32: DataType.UInt32,
  Float: DataType.Float,
  Double: DataType.Double,
};

function coerce(value: unknown, dataType: DataType): unknown {
  switch (dataType) {
    case DataType.Boolean:
      return typeof value === 'string' ? value === 'true' || value === '1' : Boolean(value);
    case DataType.String:
      return String(value);
    default: {
      const n = Number(value);
      if (!Number.isFinite(n))
        throw new EdgeError('EDGE_OPCUA_WRITE', `not a number: ${String(value)}`);
      return n;
    }
  }
}

export class OutputWriter {
  private readonly resolved = new Map<string, NodeId>();

  constructor(
    private readonly outputs: readonly OpcuaOutputConfig[],
    private readonly serverId: string,
  ) {}

  /** Forget resolved nodeIds (a new session may have other namespace indexes). */
  reset(): void {
    this.resolved.clear();
  }

  private output(name: string, kinds: OpcuaOutputConfig['kind'][]): OpcuaOutputConfig {
    const o = this.outputs.find((x) => x.name === name);
    if (!o || !kinds.includes(o.kind)) {
      throw new EdgeError(
        'EDGE_OPCUA_UNKNOWN_NAME',
        `server ${this.serverId} has no ${kinds.join('/')} output '${name}'`,
      );
    }
    return o;
  }

  private async node(
    session: ClientSession,
    namespaces: readonly string[],
    key: string,
    addr: { nodeId?: string; browsePath?: string },
  ): Promise<NodeId> {
    const hit = this.resolved.get(key);
    if (hit) return hit;
    const id = await resolveAddress(session, addr, namespaces, `output ${key}`);
    this.resolved.set(key, id);
    return id;
  }

  private async writeNode(
    session: ClientSession,
    nodeId: NodeId,
    dataType: DataType,
    value: unknown,
  ): Promise<void> {
    const status = await session.write({
      nodeId,
      attributeId: AttributeIds.Value,
      value: { value: new Variant({ dataType, value: coerce(value, dataType) }) },
    });
    if (!status.isGood()) {
      throw new EdgeError(
        'EDGE_OPCUA_WRITE',
        `write ${nodeId.toString()} rejected: ${status.name}`,
      );
    }
  }

  async write(
    session: ClientSession,
    namespaces: readonly string[],
    name: string,
    value: unknown,
  ): Promise<void> {
    const o = this.output(name, ['write']);
    const nodeId = await this.node(session, namespaces, name, o);
    await this.writeNode(session, nodeId, DATA_TYPES[o.dataType ?? 'Boolean'], value);
  }

  async call(
    session: ClientSession,
    namespaces: readonly string[],
    name: string,
    args: unknown[],
  ): Promise<unknown[]> {
    const o = this.output(name, ['method', 'decision']);
    if (!o.objectId || !o.methodId) {
      throw new EdgeError('EDGE_OPCUA_UNKNOWN_NAME', `output ${name} has no objectId/methodId`);
    }
    const objectId = parseNodeId(o.objectId, namespaces);
    const methodId = parseNodeId(o.methodId, namespaces);
    const def = await session.getArgumentDefinition(methodId);
    const inputArguments = def.inputArguments.map((a, i) => {
      const dataType = (
        a.dataType.namespace === 0 ? Number(a.dataType.value) : DataType.String
      ) as DataType;
      return new Variant({ dataType, value: coerce(args[i], dataType) });
    });
    const result = await session.call({ objectId, methodId, inputArguments });
    if (!result.statusCode.isGood()) {
      throw new EdgeError('EDGE_OPCUA_WRITE', `call ${name} rejected: ${result.statusCode.name}`);
    }
    return (result.outputArguments ?? []).map((v) => v.value as unknown);
  }

  async handOffDecision(
    session: ClientSession,
    namespaces: readonly string[],
    name: string,
    d: DecisionHandOff,
  ): Promise<void> {
    const o = this.output(name, ['decision']);
    if (o.methodId) {
      const out = await this.call(session, namespaces, name, [d.trackingId, d.lane]);
      if (out[0] === false) {
        throw new EdgeError('EDGE_OPCUA_WRITE', `PLC refused decision for ${d.trackingId}`);
      }
      return;
    }
    if (!o.trackingIdNodeId || !o.laneNodeId) {
      throw new EdgeError(
        'EDGE_OPCUA_UNKNOWN_NAME',
        `decision ${name} needs a methodId or trackingIdNodeId + laneNodeId`,
      );
    }
    await this.writeNode(
      session,
      parseNodeId(o.trackingIdNodeId, namespaces),
      DataType.String,
      d.trackingId,
    );
    await this.writeNode(session, parseNodeId(o.laneNodeId, namespaces), DataType.String, d.lane);
    if (o.strobeNodeId) {
      const strobe = parseNodeId(o.strobeNodeId, namespaces);
      const dv = await session.read({ nodeId: strobe, attributeId: AttributeIds.Value });
      await this.writeNode(session, strobe, DataType.Boolean, !dv.value.value);
    }
  }
}
