/**
 * The Sparkplug B topic namespace (spBv1.0) of one edge node:
 *   spBv1.0/<group>/NBIRTH|NDEATH|NDATA|NCMD/<node>
 *   spBv1.0/<group>/DBIRTH|DDEATH|DDATA|DCMD/<node>/<device>
 *   spBv1.0/STATE/<primary host id>
 */
export const NAMESPACE = 'spBv1.0';

export type NodeVerb = 'NBIRTH' | 'NDEATH' | 'NDATA' | 'NCMD';
export type DeviceVerb = 'DBIRTH' | 'DDEATH' | 'DDATA' | 'DCMD';

/** Group, node and device ids are single topic levels: no '/', '+', '#'. */
export function validSparkplugId(id: string): boolean {
  return id.length > 0 && !/[/+#]/.test(id);
}

export class SparkplugTopics {
  constructor(
    readonly groupId: string,
    readonly edgeNodeId: string,
  ) {}

  node(verb: NodeVerb): string {
    return `${NAMESPACE}/${this.groupId}/${verb}/${this.edgeNodeId}`;
  }

  device(verb: DeviceVerb, deviceId: string): string {
    return `${NAMESPACE}/${this.groupId}/${verb}/${this.edgeNodeId}/${deviceId}`;
  }

  get dcmdFilter(): string {
    return `${NAMESPACE}/${this.groupId}/DCMD/${this.edgeNodeId}/+`;
  }

  state(hostId: string): string {
    return `${NAMESPACE}/STATE/${hostId}`;
  }

  /**
   * Never subscribed, never published: the gateway unsubscribes from it as a delivery fence (the
   * broker answers an UNSUBSCRIBE after it has processed every packet the client sent before).
   */
  get fence(): string {
    return `${NAMESPACE}/${this.groupId}/FENCE/${this.edgeNodeId}`;
  }
}
