import type { ClientSession, OPCUAClient } from 'node-opcua-client';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../edge/clock.js';
import type { EngineInput } from '../../edge/engine/types.js';
import { EdgeError } from '../../edge/errors.js';
import type { DriverAlarm } from '../driver.js';
import { Backoff } from '../../edge/backoff.js';
import type { ServerHealth, ServerLinkState } from './api.js';
import { thumbprintOf, type CertificateStore } from './certificate-store.js';
import type { OpcuaServerConfig } from './config-schema.js';
import {
  checkPinnedCertificate,
  createClient,
  isRefusedByServer,
  isUntrusted,
  leafOf,
  probeServerCertificate,
  reconnectForever,
  userIdentityOf,
  type ClientSettings,
} from './client-factory.js';
import { DeviceStatusTracker } from './device-status.js';
import { needsServerDataTypes } from './signal-mapping.js';
import { SignalMonitor } from './signal-monitor.js';
import { SignalRouter } from './signal-router.js';
import { SubscriptionWatchdog } from './subscription-watchdog.js';

/**
 * One OPC UA server: connect (own retry loop for the first connect, node-opcua #1357), then
 * node-opcua's own reconnection (keepSessionAlive, maxRetry -1, subscriptions transferred or
 * re-created), a subscription watchdog that rebuilds the subscription if publish responses stop,
 * life-bit watches, and per-signal health. Never throws into the driver: failures go to health.
 */

export interface LinkTimers {
  every(fn: () => void, ms: number): TimerHandle;
  clear(t: TimerHandle | null): void;
}

export interface LinkDeps {
  log: Logger;
  clock: Clock;
  store: CertificateStore;
  applicationName: string;
  timers: LinkTimers;
  emit(input: EngineInput): void;
  alarm(alarm: DriverAlarm): void;
  stateChanged(): void;
}

const TICK_MS = 100;

/**
 * `p`, or an EDGE_OPCUA_CONNECT error after `ms`: node-opcua waits up to its transport timeout
 * (60 s) for a host that accepts the TCP connection and never answers; a technician should see
 * the failure sooner, and the loop retries with backoff.
 */
function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  p.catch(() => undefined); // the loser's rejection is not unhandled
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new EdgeError('EDGE_OPCUA_CONNECT', message)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Wait for `p` at most `ms` (a hung disconnect must not stall the loop or stop()). */
function bounded<T>(p: Promise<T>, ms: number): Promise<T | void> {
  return Promise.race([p, new Promise<void>((r) => setTimeout(r, ms).unref())]);
}

export class ServerLink {
  state: ServerLinkState = 'idle';
  client: OPCUAClient | null = null;
  session: ClientSession | null = null;
  namespaces: string[] = [];
  readonly monitor: SignalMonitor;
  readonly deviceId: string;
  private readonly router: SignalRouter;
  private readonly devices: DeviceStatusTracker;
  private readonly clientSettings: ClientSettings;
  private readonly backoff: Backoff;
  private stopped = false;
  private wake: (() => void) | null = null;
  private attemptActive = false;
  private readonly attemptIdle: (() => void)[] = [];
  private paused = 0;
  private runPromise: Promise<void> | null = null;
  private tick: TimerHandle | null = null;
  private everFailed = false;
  private lifeBitOut = false;
  private nextLifeBitMono = 0;
  private readonly counts = { reconnects: 0, attempts: 0 };
  private readonly watchdog: SubscriptionWatchdog;
  private lastConnectedAt: string | null = null;
  private lastError: { code: string; message: string } | null = null;
  private serverCertificate: string | null = null;

  constructor(
    readonly config: OpcuaServerConfig,
    private readonly deps: LinkDeps,
  ) {
    this.deviceId = config.deviceId ?? config.id;
    this.backoff = new Backoff(config.backoff.initialMs, config.backoff.maxMs);
    this.devices = new DeviceStatusTracker(config, this.deviceId, deps.clock, (i) => deps.emit(i));
    this.clientSettings = { config, store: deps.store, applicationName: deps.applicationName };
    const router = new SignalRouter(config, {
      clock: deps.clock,
      log: deps.log,
      deviceId: this.deviceId,
      devices: this.devices,
      emit: (i) => deps.emit(i),
      lifeBitSeen: () => this.evaluateDevices('life bit toggling'),
      overflowAlarm: (signal, lost, total) =>
        deps.alarm({
          code: 'EDGE_OPCUA_QUEUE_OVERFLOW',
          message: 'OPC UA server queue overflow: values were lost',
          details: { server: config.id, signal, overflows: lost, overflowsTotal: total },
        }),
    });
    this.router = router;
    this.monitor = new SignalMonitor(config, {
      alive: () => this.watchdog.alive(),
      monitoring: (s, nodeId, revised) => router.monitoring(s, nodeId, revised),
      failed: (s, err) => {
        router.failed(s, err);
        this.lastError = router.failedSignalError();
        deps.stateChanged();
      },
      overflow: (s) => router.overflow(s),
      event: (s, fields, timeMs) => router.event(s, fields, timeMs),
      dataChange: (s, value, ts) => router.dataChange(s, value, ts),
    });
    this.watchdog = new SubscriptionWatchdog({
      clock: deps.clock,
      log: deps.log,
      monitor: this.monitor,
      keepAliveCount: config.keepAliveCount,
      session: () => this.session,
      namespaces: () => this.namespaces,
      stopped: () => this.stopped,
      stalled: () => {
        this.setState('reconnecting');
        this.devices.connectionLost();
        this.evaluateDevices('no publish response from the server');
      },
      recovered: () => {
        this.setState('connected');
        this.onConnected();
      },
    });
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

  /**
   * Hold connect attempts while the PKI changes: a failing attempt moves the server certificate
   * back to rejected/ after its verdict, which would undo a trust made meanwhile.
   */
  async pause(): Promise<void> {
    this.paused++;
    if (!this.attemptActive) return;
    await new Promise<void>((resolve) => {
      this.attemptIdle.push(resolve);
      setTimeout(resolve, 15_000).unref();
    });
  }

  resume(): void {
    this.paused = Math.max(0, this.paused - 1);
    if (this.paused === 0) this.retryNow();
  }

  private attemptOver(): void {
    this.attemptActive = false;
    for (const resolve of this.attemptIdle.splice(0)) resolve();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    }).finally(() => {
      this.wake = null;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      while (this.paused > 0 && !this.stopped) await this.sleep(1000);
      if (this.stopped) return;
      this.attemptActive = true;
      try {
        await this.connectOnce();
        this.attemptOver();
        return;
      } catch (err) {
        await bounded(this.teardown(), 5000);
        if (this.stopped) return;
        if (isUntrusted(err)) {
          // tell the technician which certificate to trust
          await this.fetchServerCertificate().catch(() => null);
        }
        this.attemptOver();
        this.noteFailure(err);
        const delay = this.backoff.next();
        this.log.warn({ delayMs: delay, err: this.lastError }, 'OPC UA connect failed; retrying');
        await this.sleep(delay);
      }
    }
  }

  private noteFailure(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.everFailed = true;
    if (err instanceof EdgeError) {
      this.lastError = { code: err.code, message };
    } else if (this.config.securityMode !== 'None' && isRefusedByServer(err)) {
      const store = this.deps.store;
      this.lastError = {
        code: 'EDGE_OPCUA_CLIENT_CERT_REFUSED',
        message: `the server ${this.config.endpointUrl} does not trust this gateway's certificate (thumbprint ${store.ownThumbprint() ?? 'not created yet'}): download it (technician console, Devices > OPC UA > gateway certificate, or the file ${store.ownCertificateFile}), add it to the server's trusted certificates, and the gateway connects on its next retry (${message})`,
      };
    } else if (isUntrusted(err)) {
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
    // the state may be unchanged but the error is new: the driver's health must show it
    this.deps.stateChanged();
    this.evaluateDevices('connection to the server failed');
  }

  private async fetchServerCertificate(): Promise<Buffer | null> {
    const leaf = await probeServerCertificate(this.clientSettings);
    if (leaf) this.serverCertificate = thumbprintOf(leaf);
    return leaf;
  }

  private async connectOnce(): Promise<void> {
    this.counts.attempts++;
    this.setState(this.state === 'certificateRejected' ? 'certificateRejected' : 'connecting');
    await this.deps.store.initialize();
    if (this.config.securityMode !== 'None') {
      await checkPinnedCertificate(this.clientSettings, (t) => (this.serverCertificate = t));
    }
    // first connect: no internal retry (our loop owns it); afterwards node-opcua reconnects forever
    const client = createClient(
      this.clientSettings,
      this.config.securityMode,
      this.config.securityPolicy,
      0,
    );
    this.client = client;
    this.attachClientEvents(client);
    try {
      await withDeadline(
        client.connect(this.config.endpointUrl),
        this.config.connectTimeoutMs,
        `no answer from ${this.config.endpointUrl} within ${this.config.connectTimeoutMs} ms`,
      );
    } finally {
      const leaf = leafOf(client.serverCertificate);
      if (leaf) this.serverCertificate = thumbprintOf(leaf);
    }
    if (this.stopped) return;
    // from now on: infinite reconnection with node-opcua's own backoff
    reconnectForever(client);
    const session = await client.createSession(userIdentityOf(this.config));
    this.session = session;
    session.on('session_closed', () => this.log.warn({}, 'OPC UA session closed'));
    session.on('keepalive_failure', () => this.log.warn({}, 'OPC UA keep-alive failed'));
    this.namespaces = await session.readNamespaceArray();
    if (this.config.signals.some(needsServerDataTypes)) {
      // structured fields (AutoID ScanResult, Machine Vision ids) need the server's data types; load them now so a
      // notification never triggers the lazy load (an unhandled rejection if the session drops)
      await session
        .extractNamespaceDataType()
        .catch((err: unknown) => this.log.warn({ err }, 'could not load the server data types'));
    }
    await this.monitor.build(session, this.namespaces);
    this.watchdog.alive();
    this.backoff.reset();
    this.lastError = this.router.failedSignalError();
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
      this.devices.connectionLost();
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
      this.watchdog.alive();
      this.setState('connected');
      this.log.info({ subscriptionId: this.monitor.subscriptionId }, 'OPC UA reconnected');
      this.onConnected();
    });
  }

  private onConnected(): void {
    this.devices.connected();
    this.evaluateDevices('connected');
  }

  private sessionId(): string | null {
    const s = this.session as unknown as { sessionId?: { toString(): string } } | null;
    return s?.sessionId ? s.sessionId.toString() : null;
  }

  // ---- periodic work: life bits, gateway life bit, subscription watchdog (subscription-watchdog.ts)

  private onTick(): void {
    if (this.stopped) return;
    const now = this.deps.clock.monoMs();
    if (this.watchdog.stalled) this.watchdog.check(now);
    this.router.flushOverflowAlarms();
    if (this.state === 'connected') {
      for (const device of this.devices.check()) this.log.warn({ device }, 'life bit stopped');
      this.evaluateDevices('life bit stopped');
      this.watchdog.check(now);
      const glb = this.config.gatewayLifeBit;
      if (glb && now >= this.nextLifeBitMono) {
        this.nextLifeBitMono = now + glb.intervalMs;
        this.toggleLifeBit(glb.output).catch((err: unknown) =>
          this.log.warn({ err }, 'gateway life bit write failed'),
        );
      }
    }
  }

  // ---- device status (fail-safe input for the engine)

  private evaluateDevices(reason: string): void {
    const link =
      this.state === 'connected'
        ? 'up'
        : this.everFailed || this.lastConnectedAt !== null
          ? 'down'
          : null;
    this.devices.evaluate(link, reason);
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
      subscriptionsRecreated: this.watchdog.recreated,
      overflows: this.router.overflows,
      lastConnectedAt: this.lastConnectedAt,
      lastError: this.lastError,
      serverCertificate: this.serverCertificate,
      signals: this.router.health(),
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
    await bounded(this.runPromise ?? Promise.resolve(), 5000);
    await bounded(this.teardown(), 5000);
    this.setState('stopped');
  }
}
