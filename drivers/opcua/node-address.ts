import {
  AttributeIds,
  BrowseDirection,
  coerceNodeId,
  DataType,
  makeBrowsePath,
  NodeClass,
  StatusCodes,
  type ClientSession,
  type NodeId,
} from 'node-opcua-client';
import { EdgeError } from '../../edge/errors.js';
import type { BrowseChild, NodeAttributes } from './api.js';

/**
 * NodeIds and browse paths from the configuration resolved against one session, plus the
 * browse / read helpers behind the HTTP API.
 */

/** `nsu=<uri>;s=X` -> `ns=<index>;s=X` with the server's namespace array; others unchanged. */
export function expandNodeId(spec: string, namespaces: readonly string[]): string {
  const m = /^nsu=([^;]+);(.+)$/.exec(spec.trim());
  if (!m) return spec.trim();
  const uri = m[1] as string;
  const index = namespaces.indexOf(uri);
  if (index < 0) throw new Error(`namespace ${uri} is not on this server`);
  return `ns=${index};${m[2] as string}`;
}

export function parseNodeId(spec: string, namespaces: readonly string[]): NodeId {
  try {
    return coerceNodeId(expandNodeId(spec, namespaces));
  } catch (err) {
    throw new EdgeError('EDGE_OPCUA_SIGNAL', `invalid nodeId '${spec}': ${(err as Error).message}`);
  }
}

/** A namespace-qualified browse name: `Name` in `uri` (or ns 0), or `<index>:Name` as given. */
export function qualify(name: string, uri: string | null, namespaces: readonly string[]): string {
  if (/^\d+:/.test(name)) return name;
  if (!uri) return name;
  const index = namespaces.indexOf(uri);
  if (index < 0) throw new Error(`namespace ${uri} is not on this server`);
  return `${index}:${name}`;
}

export async function resolveAddress(
  session: ClientSession,
  addr: { nodeId?: string; browsePath?: string },
  namespaces: readonly string[],
  what: string,
): Promise<NodeId> {
  if (addr.nodeId) return parseNodeId(addr.nodeId, namespaces);
  if (!addr.browsePath) {
    throw new EdgeError('EDGE_OPCUA_SIGNAL', `${what}: needs a nodeId or a browsePath`);
  }
  const result = await session.translateBrowsePath(makeBrowsePath('RootFolder', addr.browsePath));
  const target = result.targets?.[0];
  if (result.statusCode.isNotGood() || !target) {
    throw new EdgeError(
      'EDGE_OPCUA_SIGNAL',
      `${what}: browse path ${addr.browsePath} not found (${result.statusCode.name})`,
    );
  }
  return coerceNodeId(target.targetId.toString());
}

function plainValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return v.toString();
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return v.map(plainValue);
  if (typeof v === 'object') {
    const o = v as { toJSON?: () => unknown; toString: () => string };
    if (typeof o.toJSON === 'function') return o.toJSON();
    return o.toString();
  }
  return v;
}

async function dataTypeName(session: ClientSession, dataTypeId: NodeId): Promise<string> {
  if (dataTypeId.namespace === 0 && typeof dataTypeId.value === 'number') {
    const name = (DataType as unknown as Record<number, string>)[dataTypeId.value];
    if (name) return name;
  }
  const dv = await session.read({ nodeId: dataTypeId, attributeId: AttributeIds.BrowseName });
  return (dv.value.value as { name?: string } | null)?.name ?? dataTypeId.toString();
}

/** Children of a node (Objects folder by default): class, browse name, data type, value. */
export async function browseChildren(
  session: ClientSession,
  nodeId: NodeId,
): Promise<BrowseChild[]> {
  const result = await session.browse({
    nodeId,
    browseDirection: BrowseDirection.Forward,
    referenceTypeId: 'HierarchicalReferences',
    includeSubtypes: true,
    nodeClassMask: 0,
    resultMask: 63,
  });
  if (result.statusCode.isNotGood()) {
    throw new EdgeError(
      'EDGE_OPCUA_UNKNOWN_NAME',
      `browse ${nodeId.toString()}: ${result.statusCode.name}`,
    );
  }
  const refs = result.references ?? [];
  const variables = refs.filter((r) => Number(r.nodeClass) === Number(NodeClass.Variable));
  const reads = variables.flatMap((r) => [
    { nodeId: r.nodeId, attributeId: AttributeIds.Value },
    { nodeId: r.nodeId, attributeId: AttributeIds.DataType },
  ]);
  const values = reads.length > 0 ? await session.read(reads) : [];
  const out: BrowseChild[] = [];
  for (const r of refs) {
    const vi = variables.indexOf(r);
    let dataType: string | null = null;
    let value: unknown = null;
    if (vi >= 0) {
      const v = values[vi * 2];
      const dt = values[vi * 2 + 1];
      value = v && v.statusCode.isGood() ? plainValue(v.value.value) : null;
      const dtId = dt?.value.value as NodeId | null | undefined;
      dataType = dtId ? await dataTypeName(session, dtId) : null;
    }
    out.push({
      nodeId: r.nodeId.toString(),
      browseName: r.browseName.toString(),
      displayName: r.displayName.text ?? '',
      nodeClass: NodeClass[r.nodeClass] ?? String(r.nodeClass),
      dataType,
      value,
      hasChildren: [NodeClass.Object, NodeClass.View].map(Number).includes(Number(r.nodeClass)),
    });
  }
  return out;
}

/** The attributes of one node. */
export async function readAttributes(
  session: ClientSession,
  nodeId: NodeId,
): Promise<NodeAttributes> {
  const ids = [
    AttributeIds.NodeClass,
    AttributeIds.BrowseName,
    AttributeIds.DisplayName,
    AttributeIds.Description,
    AttributeIds.DataType,
    AttributeIds.Value,
    AttributeIds.AccessLevel,
  ];
  const dvs = await session.read(ids.map((attributeId) => ({ nodeId, attributeId })));
  const [nc, bn, dn, desc, dt, val, al] = dvs;
  if (!nc || nc.statusCode.equals(StatusCodes.BadNodeIdUnknown)) {
    throw new EdgeError('EDGE_OPCUA_UNKNOWN_NAME', `node ${nodeId.toString()} does not exist`);
  }
  const good = (d: typeof nc | undefined) => d !== undefined && d.statusCode.isGood();
  const dtId = good(dt) ? (dt?.value.value as NodeId) : null;
  return {
    nodeId: nodeId.toString(),
    nodeClass: NodeClass[nc.value.value as number] ?? String(nc.value.value),
    browseName: good(bn) ? String((bn?.value.value as { toString(): string }).toString()) : '',
    displayName: good(dn) ? ((dn?.value.value as { text?: string }).text ?? '') : '',
    description: good(desc)
      ? ((desc?.value.value as { text?: string } | null)?.text ?? null)
      : null,
    dataType: dtId ? await dataTypeName(session, dtId) : null,
    value: good(val) ? plainValue(val?.value.value) : null,
    statusCode: val ? val.statusCode.name : null,
    sourceTimestamp: val?.sourceTimestamp ? val.sourceTimestamp.toISOString() : null,
    accessLevel: good(al) ? Number(al?.value.value) : null,
  };
}
