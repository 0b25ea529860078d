import { isAbsolute, resolve } from 'node:path';
import { BaseDriver, type DriverContext } from '../driver.js';
import { EdgeError } from '../../edge/errors.js';
import type {
  BrowseChild,
  CertificateEntry,
  DecisionHandOff,
  HandOffAck,
  NodeAttributes,
  OpcuaControl,
  ServerHealth,
} from './api.js';
import { CertificateStore } from './certificate-store.js';
import { routeNodeOpcuaLogs } from './library-log.js';
import type { OpcuaDriverConfig } from './config-schema.js';
import { browseChildren, parseNodeId, readAttributes } from './node-address.js';
import { OutputWriter } from './output-writer.js';
import { ServerLink } from './server-link.js';

/**
 * The OPC UA driver: any number of servers (CT scanners, sorter PLCs, AutoID readers), one
 * PKI folder owned by the gateway, signals mapped by name into engine inputs, outputs written
 * by name. Loaded only when configured (drivers/kinds.ts imports this module dynamically).
 *
 * State: running when every server is connected with all its signals monitored; degraded while
 * any server is connecting, reconnecting, rejected by certificate, or has a failed signal.
 */
export interface OpcuaDriverContext extends DriverContext {
  /** the gateway's data directory; a relative pkiDir lives under it */
  dataDir?: string;
}

export class OpcuaDriver extends BaseDriver implements OpcuaControl {
  readonly store: CertificateStore;
  private readonly links = new Map<string, ServerLink>();
  private readonly writers = new Map<string, OutputWriter>();

  constructor(
    private readonly config: OpcuaDriverConfig,
    ctx: OpcuaDriverContext,
  ) {
    super(config.id, 'opcua', ctx);
    routeNodeOpcuaLogs(ctx.log);
    const pkiDir = isAbsolute(config.pkiDir)
      ? config.pkiDir
      : resolve(ctx.dataDir ?? 'data', config.pkiDir);
    this.store = new CertificateStore(pkiDir, this.log.child({ module: 'opcua-pki' }));
    for (const server of config.servers) {
      const writer = new OutputWriter(server.outputs, server.id);
      const link: ServerLink = new ServerLink(server, {
        log: this.log.child({ server: server.id }),
        clock: this.clock,
        store: this.store,
        applicationName: config.applicationName,
        timers: {
          every: (fn, ms) => this.setRepeating(fn, ms),
          clear: (t) => this.clearTimer(t),
        },
        emit: (input) => this.emitSignal(input),
        alarm: (alarm) => this.raiseAlarm(alarm),
        stateChanged: () => {
          if (link.state === 'connected') writer.reset();
          this.refreshState();
        },
      });
      link.lifeBitWriter = (output, value) => this.write(server.id, output, value);
      this.links.set(server.id, link);
      this.writers.set(server.id, writer);
    }
  }

  protected async onStart(): Promise<void> {
    // the application instance certificate is created here on first start
    await this.store.initialize();
    for (const link of this.links.values()) link.start();
    this.refreshState();
  }

  protected async onStop(): Promise<void> {
    await Promise.allSettled([...this.links.values()].map((l) => l.stop()));
    await this.store
      .dispose()
      .catch((err: unknown) => this.log.warn({ err }, 'PKI dispose failed'));
  }

  private refreshState(): void {
    if (this.isStopping || this.currentState === 'stopped') return;
    const bad = [...this.links.values()].find(
      (l) => l.state !== 'connected' || l.health().lastError !== null,
    );
    if (!bad) {
      this.recover();
      return;
    }
    const err = bad.health().lastError ?? {
      code: 'EDGE_OPCUA_CONNECT',
      message: `server ${bad.config.id} is ${bad.state}`,
    };
    const message = `${bad.config.id}: ${err.message}`;
    // the same condition again (every state change re-evaluates) is not news: no second log line
    if (this.currentState === 'degraded' && this.health().lastError?.message === message) return;
    this.fail(new EdgeError(err.code as 'EDGE_OPCUA_CONNECT', message), 'degraded');
  }

  protected override healthDetails(): Record<string, unknown> {
    return { pkiDir: this.store.rootFolder, servers: this.serverHealth() };
  }

  // ---- OpcuaControl

  serverIds(): string[] {
    return [...this.links.keys()];
  }

  serverHealth(): ServerHealth[] {
    return [...this.links.values()].map((l) => l.health());
  }

  private link(serverId: string): ServerLink {
    const link = this.links.get(serverId);
    if (!link) throw new EdgeError('EDGE_OPCUA_UNKNOWN_NAME', `no OPC UA server '${serverId}'`);
    return link;
  }

  listCertificates(): Promise<CertificateEntry[]> {
    return this.store.list();
  }

  async trustCertificate(thumbprint: string): Promise<CertificateEntry> {
    // no connect attempt may run while the certificate moves (it would move it back)
    const links = [...this.links.values()];
    await Promise.all(links.map((l) => l.pause()));
    try {
      return await this.store.trust(thumbprint);
    } finally {
      for (const link of links) link.resume();
    }
  }

  async removeCertificate(thumbprint: string): Promise<CertificateEntry> {
    const links = [...this.links.values()];
    await Promise.all(links.map((l) => l.pause()));
    try {
      return await this.store.remove(thumbprint);
    } finally {
      for (const link of links) link.resume();
    }
  }

  async browse(serverId: string, nodeId = 'i=85'): Promise<BrowseChild[]> {
    const link = this.link(serverId);
    const session = link.requireSession();
    return browseChildren(session, parseNodeId(nodeId, link.namespaces));
  }

  async readNode(serverId: string, nodeId: string): Promise<NodeAttributes> {
    const link = this.link(serverId);
    const session = link.requireSession();
    return readAttributes(session, parseNodeId(nodeId, link.namespaces));
  }

  async write(serverId: string, output: string, value: unknown): Promise<void> {
    const link = this.link(serverId);
    await this.writer(serverId).write(link.requireSession(), link.namespaces, output, value);
  }

  async call(serverId: string, output: string, args: unknown[]): Promise<unknown[]> {
    const link = this.link(serverId);
    return this.writer(serverId).call(link.requireSession(), link.namespaces, output, args);
  }

  async handOffDecision(
    serverId: string,
    output: string,
    decision: DecisionHandOff,
  ): Promise<HandOffAck> {
    const link = this.link(serverId);
    const ack = await this.writer(serverId).handOffDecision(
      link.requireSession(),
      link.namespaces,
      output,
      decision,
    );
    this.count('decisions.handedOff');
    return ack;
  }

  toggleLifeBit(serverId: string, output: string): Promise<boolean> {
    return this.link(serverId).toggleLifeBit(output);
  }

  private writer(serverId: string): OutputWriter {
    return this.writers.get(serverId) as OutputWriter;
  }
}
