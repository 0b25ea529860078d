/**
 * The primary host application's STATE (spBv1.0/STATE/<host id>, JSON `{online, timestamp}`),
 * as Sparkplug 3.0 asks an edge node to read it: a message older than the last one seen is
 * ignored; an online one lets the node publish its birth; an offline one counts only if its
 * timestamp is not older than the last online one (otherwise it is the death of an earlier
 * session of the host). Without a configured host id there is nothing to wait for.
 */
export type HostVerdict = 'online' | 'offline' | 'ignored';

export class HostState {
  private lastTs: number | null = null;
  private lastOnlineTs: number | null = null;
  private onlineNow = false;
  received = 0;
  ignored = 0;

  constructor(readonly hostId: string | null) {}

  get online(): boolean {
    return this.onlineNow;
  }

  /** A new MQTT session: the host must be seen online again (its retained STATE arrives). */
  newSession(): void {
    this.onlineNow = false;
  }

  receive(payload: Buffer): HostVerdict {
    this.received++;
    let doc: { online?: unknown; timestamp?: unknown };
    try {
      doc = JSON.parse(payload.toString('utf8')) as typeof doc;
    } catch {
      this.ignored++;
      return 'ignored';
    }
    if (typeof doc.online !== 'boolean' || typeof doc.timestamp !== 'number') {
      this.ignored++;
      return 'ignored';
    }
    const ts = doc.timestamp;
    if (this.lastTs !== null && ts < this.lastTs) {
      this.ignored++;
      return 'ignored';
    }
    this.lastTs = ts;
    if (doc.online) {
      this.lastOnlineTs = ts;
      this.onlineNow = true;
      return 'online';
    }
    if (this.lastOnlineTs !== null && ts < this.lastOnlineTs) {
      this.ignored++;
      return 'ignored';
    }
    this.onlineNow = false;
    return 'offline';
  }
}
