import {
  AttributeIds,
  BrowseDirection,
  NodeClass,
  StatusCodes,
  type ClientSession,
  type NodeId,
} from 'node-opcua-client';
import { EdgeError } from '../../edge/errors.js';
import { parseNodeId } from './node-address.js';

/**
 * A signal's `eventType`, given as a NodeId (`nsu=<uri>;i=1009`, `ns=2;i=5000`, `i=2041`) or as
 * the event type's browse name (`CtScanCompleteEventType`, or `<namespace index>:Name`), resolved
 * on the server and checked to really be an event type: an ObjectType below BaseEventType. A node
 * that is not (a variable, an object, an object type outside the event hierarchy) is refused with
 * what it is, instead of a subscription that silently never delivers anything.
 */

const BASE_EVENT_TYPE = 'i=2041';
const HAS_SUBTYPE = 'i=45';
/** the event type hierarchy is searched breadth-first, at most this many types */
const MAX_TYPES = 5000;
/** at most this many supertypes between an event type and BaseEventType */
const MAX_DEPTH = 32;

const NODE_ID = /^(nsu=|ns=\d+;|[isgb]=)/;

export function looksLikeNodeId(spec: string): boolean {
  return NODE_ID.test(spec.trim());
}

async function subtypes(session: ClientSession, nodeId: NodeId | string, inverse = false) {
  const result = await session.browse({
    nodeId,
    browseDirection: inverse ? BrowseDirection.Inverse : BrowseDirection.Forward,
    referenceTypeId: HAS_SUBTYPE,
    includeSubtypes: false,
    nodeClassMask: 0,
    resultMask: 63,
  });
  return result.statusCode.isGood() ? (result.references ?? []) : [];
}

/** Search the event type hierarchy for a browse name (`Name` or `<ns index>:Name`). */
async function findByBrowseName(session: ClientSession, spec: string): Promise<NodeId> {
  const m = /^(?:(\d+):)?(.+)$/.exec(spec.trim());
  const ns = m?.[1] !== undefined ? Number(m[1]) : null;
  const name = m?.[2] ?? spec;
  const matches: NodeId[] = [];
  const queue: (NodeId | string)[] = [BASE_EVENT_TYPE];
  let seen = 0;
  while (queue.length > 0 && seen < MAX_TYPES) {
    const next = queue.shift() as NodeId | string;
    for (const ref of await subtypes(session, next)) {
      seen++;
      const bn = ref.browseName;
      if (bn.name === name && (ns === null || bn.namespaceIndex === ns)) matches.push(ref.nodeId);
      queue.push(ref.nodeId);
    }
  }
  if (name === 'BaseEventType' && ns === null) return parseNodeId(BASE_EVENT_TYPE, []);
  if (matches.length === 0)
    throw new EdgeError(
      'EDGE_OPCUA_SIGNAL',
      `no event type named '${spec}' on this server (searched ${seen} types below BaseEventType); give its NodeId or browse the server's Types/EventTypes`,
    );
  if (matches.length > 1)
    throw new EdgeError(
      'EDGE_OPCUA_SIGNAL',
      `event type name '${spec}' is ambiguous: ${matches.map((n) => n.toString()).join(', ')}; write it as '<namespace index>:${name}' or give the NodeId`,
    );
  return matches[0] as NodeId;
}

/** Throws EDGE_OPCUA_SIGNAL unless `nodeId` is BaseEventType or one of its subtypes. */
async function assertEventType(session: ClientSession, nodeId: NodeId, spec: string) {
  const [nc, bn] = await session.read([
    { nodeId, attributeId: AttributeIds.NodeClass },
    { nodeId, attributeId: AttributeIds.BrowseName },
  ]);
  if (!nc || nc.statusCode.equals(StatusCodes.BadNodeIdUnknown) || nc.statusCode.isNotGood())
    throw new EdgeError(
      'EDGE_OPCUA_SIGNAL',
      `eventType ${spec}: no such node on this server (${nc?.statusCode.name ?? 'no answer'})`,
    );
  const name = String((bn?.value.value as { name?: string } | null)?.name ?? nodeId.toString());
  const nodeClass = Number(nc.value.value);
  if (nodeClass !== Number(NodeClass.ObjectType))
    throw new EdgeError(
      'EDGE_OPCUA_SIGNAL',
      `eventType ${spec} (${name}) is a ${NodeClass[nodeClass] ?? nodeClass}, not an event type: give an ObjectType below BaseEventType (the object that raises the events goes in nodeId/browsePath)`,
    );
  let current: NodeId = nodeId;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (current.toString() === 'ns=0;i=2041' || current.toString() === BASE_EVENT_TYPE) return;
    const parent = (await subtypes(session, current, true))[0];
    if (!parent) break;
    current = parent.nodeId;
  }
  throw new EdgeError(
    'EDGE_OPCUA_SIGNAL',
    `eventType ${spec} (${name}) is an ObjectType but not an event type (not a subtype of BaseEventType)`,
  );
}

/** The NodeId of a configured event type, checked against the server. */
export async function resolveEventType(
  session: ClientSession,
  spec: string,
  namespaces: readonly string[],
): Promise<NodeId> {
  const nodeId = looksLikeNodeId(spec)
    ? parseNodeId(spec, namespaces)
    : await findByBrowseName(session, spec);
  await assertEventType(session, nodeId, spec);
  return nodeId;
}
