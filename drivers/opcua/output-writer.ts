import {
  AttributeIds,
  DataType,
  Variant,
  type ClientSession,
  type NodeId,
} from 'node-opcua-client';
import { EdgeError } from '../../edge/errors.js';
import type { DecisionHandOff, HandOffAck } from './api.js';
import type { OpcuaOutputConfig } from './config-schema.js';
import { parseNodeId, resolveAddress } from './node-address.js';
import { SorterOutput } from './sorter-output.js';

/**
 * Writes and method calls by named output: a decision handed to a sorter PLC (sorter-output.ts:
 * the PLC's key, destination code and call shape, acknowledged), the gateway's own life bit, any
 * configured variable or method.
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
  /** decision outputs: sorter PLC hand-offs (sorter-output.ts) */
  private readonly sorters = new Map<string, SorterOutput>();

  constructor(
    private readonly outputs: readonly OpcuaOutputConfig[],
    private readonly serverId: string,
  ) {}

  /** Forget resolved nodeIds (a new session may have other namespace indexes). */
  reset(): void {
    this.resolved.clear();
    for (const s of this.sorters.values()) s.reset();
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
  ): Promise<HandOffAck> {
    const o = this.output(name, ['decision']);
    let sorter = this.sorters.get(name);
    if (!sorter) {
      sorter = new SorterOutput(o, this.serverId);
      this.sorters.set(name, sorter);
    }
    return await sorter.handOff(session, namespaces, d);
  }
}
