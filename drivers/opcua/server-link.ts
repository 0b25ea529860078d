import { readFileSync } from 'node:fs';
import {
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  UserTokenType,
  type ClientSession,
  type UserIdentityInfo,
} from 'node-opcua-client';
import { readCertificate, split_der } from 'node-opcua-crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../edge/clock.js';
import type { EngineInput } from '../../edge/engine/types.js';
import { EdgeError } from '../../edge/errors.js';
import { Backoff } from '../../edge/uplink/backoff.js';
import type { ServerHealth, ServerLinkState, SignalHealth } from './api.js';
import { thumbprintOf, type CertificateStore } from './certificate-store.js';
import type { OpcuaServerConfig, OpcuaSignalConfig } from './config-schema.js';
import { LifeBitWatch } from './life-bit.js';
import { SignalMonitor, type SignalSink } from './signal-monitor.js';
import { mapDataChange, mapEvent, type FieldKey } from './signal-mapping.js';

/**
 * One OPC UA server: connect (own retry loop for the first connect, node-opcua #1357), then
 * node-opcua's own reconnection (keepSessionAlive, maxRetry -1, subscriptions transferred or
 * re-created), a subscription watchdog that rebuilds the subscription if publish responses stop,
 * life-bit watches, and per-signal health. Never throws into the driver: failures go to health.
 */

export interface LinkTimers {
  every(fn: () => void, ms: number): NodeJS.Timeout;
  clear(t: NodeJS.Timeout | null): void;
}

export interface LinkDeps {
  log: Logger;
  clock: Clock;
  store: CertificateStore;
  applicationName: string;
  timers: LinkTimers;
  emit(input: EngineInput): void;
  stateChanged(): void;
}

const TICK_MS = 100;
const PROBE_TIMEOUT_MS = 10_000;

function isUntrusted(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /BadCertificateUntrusted|Certificate verification failed/i.test(message);
}

export class ServerLink implements SignalSink {
  state: ServerLinkState = 'idle';
  client: OPCUAClient | null = null;
  session: ClientSession | null = null;
  namespaces: string[] = [];
  readonly monitor: SignalMonitor;
  readonly deviceId: string;
  private readonly signals = new Map<string, SignalHealth>();
  private readonly lifeBits = new Map<
    string,
    { watch: LifeBitWatch; deviceId: string; role: string }
  >();
  private readonly photoEyeLast = new Map<string, boolean>();
  private readonly deviceOk = new Map<string, boolean>();
  private readonly backoff: Backoff;
  private stopped = false;
  private wake: (() => void) | null = null;
  private runPromise: Promise<void> | null = null;
  private tick: NodeJS.Timeout | null = null;
  private lastAliveMono = 0;
  private rebuilding = false;
  private everFailed = false;
  private lifeBitOut = false;
  private nextLifeBitMono = 0;
  private readonly counts = { reconnects: 0, attempts: 0, recreated: 0, overflows: 0 };
  private lastConnectedAt: string | null = null;
  private lastError: { code: string; message: string } | null = null;
  private serverCertificate: string | null = null;

  constructor(
    readonly config: OpcuaServerConfig,
    private readonly deps: LinkDeps,
  ) {
    this.deviceId = config.deviceId ?? config.id;
    this.backoff = new Backoff(config.backoff.initialMs, config.backoff.maxMs);
    this.monitor = new SignalMonitor(config, this);
    const now = deps.clock.monoMs();
    for (const s of config.signals) {
      this.signals.set(s.name, {
        name: s.name,
        kind: s.kind,
        nodeId: s.nodeId ?? s.browsePath ?? null,
        state: 'pending',
        samplingIntervalMs: null,
        queueSize: null,
        error: null,
        values: 0,
        lastValueAt: null,
        overflows: 0,
      });
      if (s.kind === 'lifeBit') {
        this.lifeBits.set(s.name, {
          watch: new LifeBitWatch(s.lifeBitTimeoutMs, now),
          deviceId: s.deviceId ?? this.deviceId,
          role: s.role ?? config.role,
        });
      }
    }
  }

  private get log(): Logger {
    return this.deps.log;
  }

  start(): void {
    if (this.runPromise) return;
    this.tick = this.deps.timers.every(() => this.onTick(), TICK_MS);
    this.runPromise = this.run();
  }

  /** Cut a backoff wait short (a certificate was just trusted). */
  retryNow(): void {
    this.backoff.reset();
    this.wake?.();
  }

  private setState(state: ServerLinkState): void {
    if (this.state === state) return;
    this.state = state;
    this.deps.stateChanged();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.connectOnce();
        return;
      } catch (err) {
        await this.teardown();
        if (this.stopped) return;
        if (isUntrusted(err)) {
          // tell the technician which certificate to trust
          await this.fetchServerCertificate().catch(() => null);
        }
        this.noteFailure(err);
        const delay = this.backoff.next();
        this.log.warn({ delayMs: delay, err: this.lastError }, 'OPC UA connect failed; retrying');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = null;
      }
    }
  }

  private noteFailure(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.everFailed = true;
    if (err instanceof EdgeError) {
      this.lastError = { code: err.code, message };
    } else if (
      /BadCertificateUntrusted|Certificate verification failed|BadSecurityChecksFailed/i.test(
        message,
      )
    ) {
      this.lastError = {
        code: 'EDGE_OPCUA_CERT_UNTRUSTED',
        message: `server certificate ${this.serverCertificate ?? '?'} is not trusted: trust it with the HTTP API (${message})`,
      };
    } else {
      this.lastError = { code: 'EDGE_OPCUA_CONNECT', message };
    }
    this.setState(
      this.lastError.code === 'EDGE_OPCUA_CERT_UNTRUSTED' ? 'certificateRejected' : 'connecting',
    );
    this.evaluateDevices('connection to the server failed');
  }

  private userIdentity(): UserIdentityInfo {
    const u = this.config.userIdentity;
    if (u.type === 'username') {
      return { type: UserTokenType.UserName, userName: u.username, password: u.password };
    }
    if (u.type === 'certificate') {
      try {
        return {
          type: UserTokenType.Certificate,
          certificateData: readCertificate(u.certificateFile),
          privateKey: readFileSync(u.privateKeyFile, 'utf8'),
        };
      } catch (err) {
        throw new EdgeError('EDGE_OPCUA_IDENTITY', `user certificate: ${(err as Error).message}`);
      }
    }
    return { type: UserTokenType.Anonymous };
  }

  private makeClient(securityMode: string, securityPolicy: string, maxRetry: number): OPCUAClient {
    return OPCUAClient.create({
      applicationName: this.deps.applicationName,
      clientName: `${this.deps.applicationName}-${this.config.id}`,
      clientCertificateManager: this.deps.store.manager,
      securityMode: MessageSecurityMode[securityMode as keyof typeof MessageSecurityMode],
      securityPolicy:
        securityMode === 'None'
          ? SecurityPolicy.None
          : SecurityPolicy[securityPolicy as keyof typeof SecurityPolicy],
      endpointMustExist: false,
      keepSessionAlive: true,
      requestedSessionTimeout: this.config.sessionTimeoutMs,
      connectionStrategy: {
        maxRetry,
        initialDelay: this.config.backoff.initialMs,
        maxDelay: this.config.backoff.maxMs,
        randomisationFactor: 0.5,
      },
    });
  }

  /** The server's certificate (leaf, DER) read from its endpoints over a None channel. */
  private async fetchServerCertificate(): Promise<Buffer | null> {
    const probe = this.makeClient('None', 'None', 0);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('endpoint probe timed out')), PROBE_TIMEOUT_MS);
    });
    try {
      await Promise.race([probe.connect(this.config.endpointUrl), timeout]);
      const endpoints = await Promise.race([probe.getEndpoints(), timeout]);
      const cert = endpoints
        .map((e) => e.serverCertificate)
        .find((c): c is Buffer => Buffer.isBuffer(c) && c.length > 0);
      if (!cert) return null;
      const leaf = split_der(cert)[0] ?? cert;
      this.serverCertificate = thumbprintOf(leaf);
      return leaf;
    } finally {
      clearTimeout(timer);
      await probe.disconnect().catch(() => undefined);
    }
  }

  /** Pinned thumbprint: check the server certificate before connecting, trust it if it matches. */
  private async checkPin(): Promise<void> {
    const pin = this.config.serverCertificateThumbprint?.toLowerCase();
    if (!pin) return;
    const leaf = await this.fetchServerCertificate();
    if (!leaf) throw new EdgeError('EDGE_OPCUA_CERT_PIN_MISMATCH', 'server offers no certificate');
    const seen = thumbprintOf(leaf);
    if (seen !== pin) {
      throw new EdgeError(
        'EDGE_OPCUA_CERT_PIN_MISMATCH',
        `server certificate ${seen} is not the pinned ${pin}`,
      );
    }
    await this.deps.store.trustDer(leaf);
  }

  private async connectOnce(): Promise<void> {
    this.counts.attempts++;
    this.setState(this.state === 'certificateRejected' ? 'certificateRejected' : 'connecting');
    await this.deps.store.initialize();
    if (this.config.securityMode !== 'None') await this.checkPin();
    // first connect: no internal retry (our loop owns it); afterwards node-opcua reconnects forever
    const client = this.makeClient(this.config.securityMode, this.config.securityPolicy, 0);
    this.client = client;
    this.attachClientEvents(client);
    try {
      await client.connect(this.config.endpointUrl);
    } finally {
      const cert = client.serverCertificate;
      const der = Array.isArray(cert) ? cert[0] : cert;
      if (der) this.serverCertificate = thumbprintOf(split_der(der)[0] ?? der);
    }
    if (this.stopped) return;
    // from now on: infinite reconnection with node-opcua's own backoff
    const strategy = (client as unknown as { connectionStrategy?: { maxRetry: number } })
      .connectionStrategy;
    if (strategy) strategy.maxRetry = -1;
    const session = await client.createSession(this.userIdentity());
    this.session = session;
    session.on('session_closed', () => this.log.warn({}, 'OPC UA session closed'));
    session.on('keepalive_failure', () => this.log.warn({}, 'OPC UA keep-alive failed'));
    this.namespaces = await session.readNamespaceArray();
    if (this.config.signals.some((s) => s.kind === 'barcode')) {
      // structured fields (AutoID ScanResult) need the server's data types; load them now so a
      // notification never triggers the lazy load (an unhandled rejection if the session drops)
      await session
        .extractNamespaceDataType()
        .catch((err: unknown) => this.log.warn({ err }, 'could not load the server data types'));
    }
    await this.monitor.build(session, this.namespaces);
    this.lastAliveMono = this.deps.clock.monoMs();
    this.backoff.reset();
    this.lastError = this.failedSignalError();
    this.lastConnectedAt = new Date(this.deps.clock.wallMs()).toISOString();
    this.setState('connected');
    this.log.info(
      {
        sessionId: this.sessionId(),
        subscriptionId: this.monitor.subscriptionId,
        publishingIntervalMs: this.monitor.revisedPublishingIntervalMs,
      },
      'OPC UA connected',
    );
    this.onConnected();
  }

  private attachClientEvents(client: OPCUAClient): void {
    client.on('connection_lost', () => {
      if (this.stopped || this.client !== client) return;
      this.log.warn({}, 'OPC UA connection lost');
      this.setState('reconnecting');
      for (const lb of this.lifeBits.values()) lb.watch.connectionLost('connection lost');
      this.evaluateDevices('connection to the server lost');
    });
    client.on('backoff', (count: number, delay: number) => {
      this.counts.attempts++;
      this.log.debug({ count, delay }, 'OPC UA reconnect backoff');
    });
    client.on('after_reconnection', (err?: Error | null) => {
      if (this.stopped || this.client !== client) return;
      if (err) {
        this.log.warn({ err }, 'OPC UA reconnection failed');
        return;
      }
      this.counts.reconnects++;
      this.lastAliveMono = this.deps.clock.monoMs();
      this.setState('connected');
      this.log.info({ subscriptionId: this.monitor.subscriptionId }, 'OPC UA reconnected');
      this.onConnected();
    });
  }

  private onConnected(): void {
    const now = this.deps.clock.monoMs();
    for (const lb of this.lifeBits.values()) lb.watch.reset(now);
    this.evaluateDevices('connected');
  }

  private failedSignalError(): { code: string; message: string } | null {
    const failed = [...this.signals.values()].filter((s) => s.state === 'error');
    if (failed.length === 0) return null;
    return {
      code: 'EDGE_OPCUA_SIGNAL',
      message: failed.map((s) => `${s.name}: ${s.error ?? ''}`).join('; '),
    };
  }

  private sessionId(): string | null {
    const s = this.session as unknown as { sessionId?: { toString(): string } } | null;
    return s?.sessionId ? s.sessionId.toString() : null;
  }

  // ---- periodic work: life bits, gateway life bit, subscription watchdog

  private onTick(): void {
    if (this.stopped) return;
    const now = this.deps.clock.monoMs();
    if (this.state === 'connected') {
      for (const lb of this.lifeBits.values()) {
        const t = lb.watch.check(now);
        if (t) this.log.warn({ device: lb.deviceId }, t.reason);
      }
      this.evaluateDevices('life bit stopped');
      this.watchdog(now);
      const glb = this.config.gatewayLifeBit;
      if (glb && now >= this.nextLifeBitMono) {
        this.nextLifeBitMono = now + glb.intervalMs;
        this.toggleLifeBit(glb.output).catch((err: unknown) =>
          this.log.warn({ err }, 'gateway life bit write failed'),
        );
      }
    }
  }

  private watchdog(now: number): void {
    const interval = this.monitor.revisedPublishingIntervalMs ?? 1000;
    const limit = Math.max(5000, 3 * this.config.keepAliveCount * interval);
    if (this.rebuilding || now - this.lastAliveMono < limit || !this.session) return;
    this.rebuilding = true;
    this.log.warn({ silentMs: now - this.lastAliveMono }, 'subscription silent: re-creating it');
    const session = this.session;
    void (async () => {
      try {
        await this.monitor.terminate();
        await this.monitor.build(session, this.namespaces);
        this.counts.recreated++;
        this.lastAliveMono = this.deps.clock.monoMs();
      } catch (err) {
        this.log.warn({ err }, 'subscription re-creation failed');
        this.lastAliveMono = this.deps.clock.monoMs();
      } finally {
        this.rebuilding = false;
      }
    })();
  }

  // ---- device status (fail-safe input for the engine)

  private evaluateDevices(reason: string): void {
    const connected = this.state === 'connected';
    const devices = new Map<string, string>([[this.deviceId, this.config.role]]);
    for (const lb of this.lifeBits.values()) devices.set(lb.deviceId, lb.role);
    for (const [deviceId, role] of devices) {
      const watches = [...this.lifeBits.values()].filter((l) => l.deviceId === deviceId);
      let ok: boolean | null;
      let why = reason;
      if (!connected) ok = this.everFailed || this.lastConnectedAt ? false : null;
      else if (watches.some((w) => w.watch.current === 'lost')) {
        ok = false;
        why = 'life bit stopped';
      } else if (watches.every((w) => w.watch.current === 'alive')) ok = true;
      else ok = null;
      if (ok === null || this.deviceOk.get(deviceId) === ok) continue;
      this.deviceOk.set(deviceId, ok);
      this.deps.emit({
        type: 'deviceStatus',
        deviceId,
        atMono: this.deps.clock.monoMs(),
        role: role as 'ct',
        ok,
        reason: ok ? (watches.length > 0 ? 'life bit toggling' : 'connected') : why,
      });
    }
  }

  // ---- SignalSink

  alive(): void {
    this.lastAliveMono = this.deps.clock.monoMs();
  }

  monitoring(
    signal: OpcuaSignalConfig,
    nodeId: string,
    revised: { samplingIntervalMs: number | null; queueSize: number | null },
  ): void {
    const h = this.signals.get(signal.name);
    if (!h) return;
    h.state = 'monitoring';
    h.nodeId = nodeId;
    h.error = null;
    h.samplingIntervalMs = revised.samplingIntervalMs;
    h.queueSize = revised.queueSize;
  }

  failed(signal: OpcuaSignalConfig, err: Error): void {
    const h = this.signals.get(signal.name);
    if (h) {
      h.state = 'error';
      h.error = err.message;
    }
    this.lastError = this.failedSignalError();
    this.log.error({ signal: signal.name, err }, 'OPC UA signal not monitored');
    this.deps.stateChanged();
  }

  overflow(signal: OpcuaSignalConfig): void {
    this.counts.overflows++;
    const h = this.signals.get(signal.name);
    if (h) h.overflows++;
    this.log.error(
      { signal: signal.name, code: 'EDGE_OPCUA_QUEUE_OVERFLOW' },
      'server queue overflow: values lost',
    );
  }

  private touch(signal: OpcuaSignalConfig): void {
    const h = this.signals.get(signal.name);
    if (!h) return;
    h.values++;
    h.lastValueAt = new Date(this.deps.clock.wallMs()).toISOString();
  }

  event(
    signal: OpcuaSignalConfig,
    fields: Partial<Record<FieldKey, unknown>>,
    timeMs: number | null,
  ): void {
    this.touch(signal);
    const mapped = mapEvent(signal, fields, {
      clock: this.deps.clock,
      deviceId: signal.deviceId ?? this.deviceId,
      eventTimeMs: timeMs,
    });
    if (mapped) this.deps.emit(mapped.input);
  }

  dataChange(signal: OpcuaSignalConfig, value: unknown, sourceTimeMs: number | null): void {
    this.touch(signal);
    if (signal.kind === 'lifeBit') {
      const lb = this.lifeBits.get(signal.name);
      const t = lb?.watch.observe(value, this.deps.clock.monoMs());
      if (t) this.evaluateDevices(t.reason);
      return;
    }
    if (signal.kind === 'photoEye') {
      const blocked = Boolean(typeof value === 'number' ? value !== 0 : value);
      const last = this.photoEyeLast.get(signal.name);
      this.photoEyeLast.set(signal.name, blocked);
      // the first value of a subscription is the current state, not an edge
      if (last === undefined || last === blocked) return;
    }
    const input = mapDataChange(signal, value, {
      clock: this.deps.clock,
      deviceId: signal.deviceId ?? this.deviceId,
      sourceTimeMs,
    });
    if (input) this.deps.emit(input);
  }

  // ---- outputs are in output-writer.ts; the life bit toggle lives here for the tick

  lifeBitWriter: ((output: string, value: boolean) => Promise<void>) | null = null;

  async toggleLifeBit(output: string): Promise<boolean> {
    if (!this.lifeBitWriter) throw new EdgeError('EDGE_OPCUA_NOT_CONNECTED', 'no writer');
    const next = !this.lifeBitOut;
    await this.lifeBitWriter(output, next);
    this.lifeBitOut = next;
    return next;
  }

  requireSession(): ClientSession {
    if (!this.session || this.state !== 'connected') {
      throw new EdgeError(
        'EDGE_OPCUA_NOT_CONNECTED',
        `server ${this.config.id} is not connected (${this.state})`,
      );
    }
    return this.session;
  }

  health(): ServerHealth {
    return {
      id: this.config.id,
      endpointUrl: this.config.endpointUrl,
      securityMode: this.config.securityMode,
      securityPolicy: this.config.securityMode === 'None' ? 'None' : this.config.securityPolicy,
      state: this.state,
      sessionId: this.state === 'connected' ? this.sessionId() : null,
      subscriptionId: this.monitor.subscriptionId,
      revisedPublishingIntervalMs: this.monitor.revisedPublishingIntervalMs,
      reconnects: this.counts.reconnects,
      connectAttempts: this.counts.attempts,
      subscriptionsRecreated: this.counts.recreated,
      overflows: this.counts.overflows,
      lastConnectedAt: this.lastConnectedAt,
      lastError: this.lastError,
      serverCertificate: this.serverCertificate,
      signals: [...this.signals.values()].map((s) => ({ ...s })),
    };
  }

  private async teardown(): Promise<void> {
    const client = this.client;
    const session = this.session;
    this.client = null;
    this.session = null;
    await this.monitor.terminate();
    if (session) await session.close().catch(() => undefined);
    if (client) {
      client.removeAllListeners();
      await client.disconnect().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.deps.timers.clear(this.tick);
    this.wake?.();
    const bounded = <T>(p: Promise<T>, ms: number) =>
      Promise.race([p, new Promise<void>((r) => setTimeout(r, ms).unref())]);
    await bounded(this.runPromise ?? Promise.resolve(), 5000);
    await bounded(this.teardown(), 5000);
    this.setState('stopped');
  }
}
