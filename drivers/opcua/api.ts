/**
 * What the OPC UA driver offers the HTTP API and the rest of the gateway. Light on purpose: no
 * node-opcua import, so edge/http can depend on it without loading the OPC UA stack.
 */

export interface CertificateEntry {
  /** SHA-1 of the DER certificate, lower-case hex */
  thumbprint: string;
  status: 'trusted' | 'rejected';
  subject: string;
  organization: string | null;
  notBefore: string;
  notAfter: string;
  file: string;
}

export interface BrowseChild {
  nodeId: string;
  browseName: string;
  displayName: string;
  nodeClass: string;
  /** variables only */
  dataType: string | null;
  value: unknown;
  hasChildren: boolean;
}

export interface NodeAttributes {
  nodeId: string;
  nodeClass: string;
  browseName: string;
  displayName: string;
  description: string | null;
  dataType: string | null;
  value: unknown;
  statusCode: string | null;
  sourceTimestamp: string | null;
  accessLevel: number | null;
}

export interface SignalHealth {
  name: string;
  kind: string;
  nodeId: string | null;
  state: 'pending' | 'monitoring' | 'error';
  /** as revised by the server: changes faster than this may be folded into one */
  samplingIntervalMs: number | null;
  queueSize: number | null;
  error: string | null;
  values: number;
  lastValueAt: string | null;
  overflows: number;
  /** events that carried no usable identifier (a verdict that reaches no parcel: inspection) */
  unmapped: number;
}

export type ServerLinkState =
  'idle' | 'connecting' | 'connected' | 'reconnecting' | 'certificateRejected' | 'stopped';

export interface ServerHealth {
  id: string;
  endpointUrl: string;
  securityMode: string;
  securityPolicy: string;
  state: ServerLinkState;
  sessionId: string | null;
  subscriptionId: number | null;
  revisedPublishingIntervalMs: number | null;
  reconnects: number;
  connectAttempts: number;
  subscriptionsRecreated: number;
  overflows: number;
  lastConnectedAt: string | null;
  lastError: { code: string; message: string } | null;
  /** thumbprint of the server certificate last seen (rejected or pinned) */
  serverCertificate: string | null;
  signals: SignalHealth[];
}

/** A decision for a sorter PLC (drivers/opcua/sorter-output.ts picks the key the PLC knows). */
export interface DecisionHandOff {
  parcelId: string;
  keys: { waybill: string | null; plcTracking: string | null; inductionSeq: number };
  /** the lane or outlet id */
  lane: string;
  /** the destination code of that lane, converted to the PLC's data type on the way */
  destination: number | string;
  /** this parcel's hand-off number (a higher one replaces a lower one) */
  seq: number;
}

/** The PLC took the decision: with which key, acknowledged how, how long it took. */
export interface HandOffAck {
  key: string;
  via: 'methodStatus' | 'methodOutput' | 'readBack' | 'handshake';
  ackMs: number;
}

/** The driver's control surface (routes find drivers with `isOpcuaControl`). */
export interface OpcuaControl {
  readonly id: string;
  readonly kind: string;
  serverIds(): string[];
  serverHealth(): ServerHealth[];
  listCertificates(): Promise<CertificateEntry[]>;
  trustCertificate(thumbprint: string): Promise<CertificateEntry>;
  removeCertificate(thumbprint: string): Promise<CertificateEntry>;
  browse(serverId: string, nodeId?: string): Promise<BrowseChild[]>;
  readNode(serverId: string, nodeId: string): Promise<NodeAttributes>;
  write(serverId: string, output: string, value: unknown): Promise<void>;
  call(serverId: string, output: string, args: unknown[]): Promise<unknown[]>;
  handOffDecision(serverId: string, output: string, decision: DecisionHandOff): Promise<HandOffAck>;
  toggleLifeBit(serverId: string, output: string): Promise<boolean>;
}

export function isOpcuaControl(d: unknown): d is OpcuaControl {
  const c = d as Partial<OpcuaControl> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    c.kind === 'opcua' &&
    typeof c.listCertificates === 'function' &&
    typeof c.browse === 'function'
  );
}
