import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../../config/schema.js';
import { scrubSecrets, secretValues } from '../../config/secret-scrub.js';
import type { Driver } from '../../drivers/driver.js';
import { DRIVER_KINDS, type DriverKind } from '../../drivers/kinds.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { ConfigControl } from './config-control.js';
import { EngineRunner } from '../engine/engine-runner.js';
import { engineConfigFrom } from '../../config/engine-config.js';
import type { TargetingStore } from '../targeting/targeting-store.js';
import { openEngineStores } from './engine-stores.js';
import type { EventDraft } from '../events/model.js';
import { UuidV7Generator } from '../events/uuidv7.js';
import { GateLink } from '../gate/gate-link.js';
import { StackLight, type LineCondition } from '../gate/stack-light.js';
import { decisionOutputs, SorterHandOff as PlcHandOff } from '../sorter/sorter-hand-off.js';
import { UserDirectory } from '../http/auth.js';
import { ParcelBoard } from '../http/parcel-board.js';
import { withoutSecrets } from '../../config/secrets.js';
import { httpsOptions } from '../http/https-options.js';
import { buildHttpServer } from '../http/server.js';
import { buildLineView, lineReason, RecentAlarms } from '../http/line-view.js';
import { GatewayMetrics } from '../http/metrics.js';
import type { HttpState } from '../http/sessions.js';
import type { LogTail } from '../log-tail.js';
import { commandHandlers } from './command-handlers.js';
import { handFireGuard, releaseHandHeldOn, type GatewayParts } from './parts.js';
import { routeModules } from './route-modules.js';
import { Outbox } from '../outbox/outbox.js';
import { EmbeddedBroker } from '../uplink/embedded-broker.js';
import { Uplink } from '../uplink/uplink.js';
import { createDrivers } from './drivers.js';
import {
  gatewayHealth,
  lineCondition,
  type EngineHealth,
  type GatewayHealth,
  type GatewayPhase,
} from './health.js';
import { createUplink, type PlatformUplink } from '../uplink/create-uplink.js';
import type { SparkplugUplink } from '../uplink/sparkplug/sparkplug-uplink.js';
import { CommandRouter } from '../commands/router.js';
import { REPLY_STORE_FILE, ReplyStore } from '../commands/reply-store.js';
import { NONCE_STORE_FILE, NonceStore } from '../commands/nonce-store.js';
import { SystemProbe } from '../telemetry/system-probe.js';
import { TelemetryPublisher } from '../telemetry/telemetry.js';
import type { FastifyInstance } from 'fastify';
import { eventDraft } from '../events/payloads/draft.js';
// inspector workstation (issue 16): queue, decisions, alerts; see docs/inspector.md
import { startInspector, type InspectorParts } from '../inspector/gateway-wiring.js';
import { inspectorRoutes } from '../http/routes/inspector-routes.js';

/**
 * The gateway: wires drivers -> engine -> gate controller and outbox -> uplink, plus HTTP.
 * Built by the composition root (edge/main.ts) with everything passed in; no globals.
 * A driver that fails to start is reported in health and does not stop the others.
 */
export interface GatewayOptions {
  config: GatewayConfig;
  log: Logger;
  clock: Clock;
  version: string;
  driverKinds?: readonly DriverKind[];
  /** run-time configuration changes (HTTP PUT /api/config, the platform's put-config command) */
  configControl?: ConfigControl;
  /** HTTP sessions and login throttle that outlive this gateway (kept by the host) */
  httpState?: HttpState;
  /** the last log lines (GET /api/logs) */
  logTail?: LogTail;
}

export class Gateway {
  readonly board = new ParcelBoard();
  readonly alarms = new RecentAlarms();
  readonly metrics = new GatewayMetrics({ health: () => this.health() });
  outbox: Outbox | null = null;
  uplink: Uplink | null = null;
  /** the uplink in Sparkplug B mode (uplink.mode sparkplug); `uplink` is then null */
  sparkplug: SparkplugUplink | null = null;
  commands: CommandRouter | null = null;
  private replyStore: ReplyStore | null = null;
  private nonceStore: NonceStore | null = null;
  telemetry: TelemetryPublisher | null = null;
  /** inspector workstation (issue 16); null when disabled or its store could not open */
  inspector: InspectorParts | null = null;
  readonly stackLight = new StackLight(() => this.gateLink);
  private readonly plcHandOff: PlcHandOff;
  private readonly parts: GatewayParts;
  private stackLightTimer: TimerHandle | null = null;
  private lastAlarm: { atMono: number; type: string } | null = null;
  broker: EmbeddedBroker | null = null;
  gateLink: GateLink | null = null;
  runner: EngineRunner<TargetingStore> | null = null;
  http: FastifyInstance | null = null;
  readonly drivers: Driver[] = [];
  private phase: GatewayPhase = 'created';
  private readonly startedAtWall: number;
  private stopPromise: Promise<void> | null = null;
  private readonly driverErrors = new Map<string, string>();
  private readonly secrets: readonly string[];

  constructor(private readonly o: GatewayOptions) {
    this.startedAtWall = o.clock.wallMs();
    this.secrets = secretValues(o.config);
    this.parts = {
      runner: () => this.runner,
      gateLink: () => this.gateLink,
      drivers: () => this.drivers,
      audit: (entry) => this.recordAudit(entry),
      ...(o.configControl ? { configControl: o.configControl } : {}),
    };
    const outputs = decisionOutputs(o.config.drivers);
    this.plcHandOff = new PlcHandOff({
      drivers: () => this.drivers,
      decisionOutput: (serverId) => outputs.get(serverId) ?? null,
      record: (events) => this.record(events),
      clock: o.clock,
      log: o.log.child({ module: 'plc' }),
    });
  }

  private get platformUplink(): PlatformUplink | null {
    return this.uplink ?? this.sparkplug;
  }

  private child(module: string): Logger {
    return this.o.log.child({ module });
  }

  get httpAddress(): string | null {
    const address = this.http?.server.address();
    if (!address || typeof address === 'string') return null;
    return `${this.o.config.http.tls ? 'https' : 'http'}://${address.address}:${address.port}`;
  }

  async start(): Promise<void> {
    if (this.phase !== 'created') return;
    this.phase = 'starting';
    const { config, clock } = this.o;
    const dataDir = resolve(config.dataDir);

    if (config.embeddedBroker.enabled) {
      const { username, password } = config.embeddedBroker;
      this.broker = new EmbeddedBroker(
        config.embeddedBroker.host,
        config.embeddedBroker.port,
        this.child('broker'),
        username && password ? { username, password } : null,
      );
      await this.broker.start();
    }

    const outbox = new Outbox({
      file: resolve(dataDir, config.outbox.file),
      gatewayId: config.gateway.id,
      synchronous: config.outbox.synchronous,
      batchMaxRows: config.outbox.batchMaxRows,
      maxBytes: config.outbox.maxBytes,
      deliveredRetentionS: config.outbox.deliveredRetentionS,
      priorities: config.outbox.priorities,
      maintenanceIntervalMs: config.outbox.maintenanceIntervalMs,
      quickCheckOnStart: config.outbox.quickCheckOnStart,
      diskReserveBytes: config.outbox.diskReserveBytes,
      reserveFileBytes: config.outbox.reserveFileBytes,
      diskCheckIntervalMs: config.outbox.diskCheckIntervalMs,
      stuckAfterMs: config.outbox.stuckAfterMs,
      degradedHoldMs: config.outbox.degradedHoldMs,
      clock,
      log: this.child('outbox'),
    });
    this.outbox = outbox;
    this.board.apply(
      outbox.recent(
        [
          'parcel.inducted',
          'parcel.identified',
          'parcel.noread',
          'ct.verdict',
          'parcel.decided',
          'gate.fired',
          'gate.failed',
          'alarm.escaped',
          'plc.handoff_failed',
        ],
        1000,
      ),
    );
    outbox.onCommitted((events) => {
      this.board.apply(events);
      this.alarms.apply(events);
      this.metrics.apply(events);
      for (const e of events) {
        if (e.type.startsWith('alarm.') || e.type === 'outbox.dropped')
          this.lastAlarm = { atMono: clock.monoMs(), type: e.type };
      }
    });

    // inspector workstation (issue 16): follows the committed events, catches up on the stored ones
    this.inspector = startInspector({
      config,
      dataDir,
      events: outbox,
      engine: () => this.runner,
      lights: () => this.gateLink,
      clock,
      log: this.child('inspector'),
    });

    // the controller arms on our first heartbeat, sent once the gateway runs (issue 14)
    const gateLink = new GateLink(
      'gates',
      config.gates,
      { log: this.child('gates'), clock },
      { heartbeatsFrom: 'owner' },
    );
    this.gateLink = gateLink;
    gateLink.handFireGuard = handFireGuard(this.parts); // any hand fire, whatever asked for it
    gateLink.on('fired', (f) =>
      this.record([eventDraft('gate.fired', f.parcelId, f.actualMono, { ...f })]),
    );
    gateLink.on('failed', (f) =>
      this.record([eventDraft('gate.failed', f.parcelId, clock.monoMs(), { ...f })]),
    );
    // GPIO inputs (photo-eyes, E-stop, run, encoder) reach the engine like any driver's signals
    gateLink.on('signal', (signal) => this.runner?.handle(signal));
    gateLink.on('restarted', () => {
      this.stackLight.reset();
      this.inspector?.alerts.reset(); // issue 16
    });
    gateLink.on('restarted', (r) =>
      this.record([eventDraft('gate.controller_restarted', null, clock.monoMs(), { ...r })]),
    );

    const parcelIds = new UuidV7Generator(() => clock.wallMs());
    this.runner = new EngineRunner({
      engine: engineConfigFrom(config.line),
      lineId: config.line.id,
      clock,
      log: this.child('engine'),
      newParcelId: () => parcelIds.next(),
      sendGateCommand: (command) => gateLink.schedule(command),
      cancelGateCommand: (cancel) => gateLink.cancel(cancel),
      sendPlcCommand: (command) => this.plcHandOff.send(command),
      recordEvents: (events) => {
        releaseHandHeldOn(this.parts, events); // line started / parcel inducted: no hand holds
        this.record(events);
      },
      stores: openEngineStores(resolve(dataDir, config.line.stateFile), this.o.log, clock),
    });

    // Create every driver first: a heavy driver (OPC UA) loads its code here, and that load
    // blocks the event loop; the gate controller is started after it so its heartbeat watchdog
    // does not see the stall. Then the gate link, then the drivers.
    const { drivers: created, errors } = await createDrivers({
      config,
      kinds: this.o.driverKinds ?? DRIVER_KINDS,
      clock,
      log: this.o.log,
      dataDir,
      wiring: { signal: (signal) => this.runner?.handle(signal), record: (e) => this.record(e) },
    });
    for (const [id, message] of errors) this.driverErrors.set(id, message);
    this.drivers.push(...created);

    // The uplink and command router (schemas compiled), telemetry and the HTTP routes (schemas
    // compiled, plain passwords hashed) are built here, before the gate controller starts: a
    // long synchronous stretch after it would starve its heartbeats (on a Pi core this part
    // takes seconds). The uplink connects and HTTP listens once the drivers run.
    // The embedded broker's login (required beyond loopback) is the uplink's login to it.
    const embedded = config.uplink.url === 'embedded' && this.broker !== null;
    const { username, password } = config.embeddedBroker;
    const platformUplink = createUplink({
      dataDir,
      config: {
        ...config.uplink,
        ...(embedded && this.broker ? { url: this.broker.url } : {}),
        ...(embedded && username && password ? { username, password } : {}),
      },
      gatewayId: config.gateway.id,
      site: config.gateway.site,
      version: this.o.version,
      startedAt: new Date(this.startedAtWall).toISOString(),
      outbox,
      clock,
      log: this.child('uplink'),
      devices: () => this.deviceHealth(),
    });
    if (platformUplink instanceof Uplink) this.uplink = platformUplink;
    else this.sparkplug = platformUplink;
    this.startCommandsAndTelemetry(platformUplink, outbox, dataDir);
    outbox.setDrainProbe(() => platformUplink.health().state === 'connected');

    this.http = await buildHttpServer({
      https: httpsOptions(config.http.tls),
      log: this.child('http'),
      users: new UserDirectory(config.http.users),
      health: () => this.health(),
      board: this.board,
      runningConfig: () => withoutSecrets(config),
      routes: [
        ...routeModules(this.parts),
        inspectorRoutes({ desk: () => this.inspector?.desk ?? null }),
      ],
      ...(this.o.configControl ? { configControl: this.o.configControl } : {}),
      ...(this.o.httpState ? { state: this.o.httpState } : {}),
      ...(this.o.logTail ? { logTail: this.o.logTail } : {}),
      metrics: this.metrics,
      ...(config.http.metrics
        ? {
            metricsCredential: {
              name: config.http.metrics.user,
              role: 'viewer' as const,
              ...(config.http.metrics.password ? { password: config.http.metrics.password } : {}),
              ...(config.http.metrics.passwordHash
                ? { passwordHash: config.http.metrics.passwordHash }
                : {}),
            },
          }
        : {}),
      events: (q) => this.outbox?.search(q) ?? { events: [], scannedFromPos: 0 },
      audit: (entry) => this.recordAudit(entry),
      line: () =>
        buildLineView({
          config,
          runner: () => this.runner,
          condition: () => this.lineCondition(),
          lamps: () => this.stackLight.current,
          board: this.board,
          alarms: this.alarms,
          uplink: () => this.uplink?.health().state ?? null,
          monoMs: clock.monoMs,
        }),
    });
    await this.startDriver(gateLink);
    for (const driver of created) await this.startDriver(driver);
    platformUplink.start();

    await this.http.listen({ host: config.http.host, port: config.http.port });

    this.record([
      eventDraft('gateway.started', null, clock.monoMs(), {
        version: this.o.version,
        lineId: config.line.id,
      }),
    ]);
    this.stackLightTimer = clock.setRepeatingTimer(
      () => this.stackLight.update(this.lineCondition(), this.inspector?.alerts.beaconWanted),
      500,
    );
    await gateLink.beginHeartbeats();
    this.phase = 'running';
  }

  /** Platform commands (router + injected handlers) and periodic telemetry. */
  private startCommandsAndTelemetry(uplink: PlatformUplink, outbox: Outbox, dataDir: string): void {
    const { config, clock } = this.o;
    // Sparkplug mode has no JSON commands (the host's NCMD rebirth is served by the uplink)
    if (config.uplink.commands.enabled && uplink instanceof Uplink) {
      let replyStoreError: unknown;
      try {
        this.replyStore = new ReplyStore({
          file: resolve(dataDir, REPLY_STORE_FILE),
          wallMs: clock.wallMs,
          log: this.child('commands'),
        });
      } catch (err) {
        // the router refuses state-changing commands (they could run twice after a restart)
        replyStoreError = err;
        this.o.log.error({ err }, 'command reply store not open');
      }
      this.nonceStore = new NonceStore({
        file: resolve(dataDir, NONCE_STORE_FILE),
        wallMs: clock.wallMs,
        log: this.child('commands'),
      });
      this.commands = new CommandRouter({
        nonces: this.nonceStore,
        transport: uplink,
        settings: config.uplink.commands,
        handlers: commandHandlers(this.parts),
        getConfig: () => withoutSecrets(config),
        lastSeq: (s) => (s === 'events' ? outbox.stats().lastSeq : outbox.stats().lastTelemetrySeq),
        record: (events) => this.record(events),
        info: () => ({ version: this.o.version, gatewayId: config.gateway.id }),
        clock,
        log: this.child('commands'),
        ...(this.replyStore ? { replyStore: this.replyStore } : { replyStoreError }),
      });
      this.commands.start();
    }
    if (config.uplink.telemetry.enabled) {
      this.telemetry = new TelemetryPublisher({
        intervalMs: config.uplink.telemetry.intervalMs,
        outbox,
        probe: new SystemProbe({ dataDir }),
        devices: () => this.deviceHealth(),
        uplink: () => this.platformUplink?.health() ?? null,
        monoMs: clock.monoMs,
        atMono: clock.monoMs,
        log: this.child('telemetry'),
      });
      this.telemetry.start();
    }
  }

  /** A driver that fails to start is reported, not fatal. */
  private async startDriver(driver: Driver): Promise<void> {
    try {
      await driver.start();
    } catch (err) {
      this.o.log.error({ err, driver: driver.id }, 'driver failed to start; continuing without it');
    }
  }

  /** An audit entry (who changed what): configuration, manual gate actuation, decisions. */
  recordAudit(entry: { action: string; actor: string } & Record<string, unknown>): void {
    this.o.log.info({ audit: entry }, 'audit');
    this.record([eventDraft('audit', null, this.o.clock.monoMs(), entry)]);
  }

  private record(events: EventDraft[]): void {
    const outbox = this.outbox;
    if (!outbox) return;
    outbox
      .append(events)
      .catch((err: unknown) =>
        this.o.log.error({ err, count: events.length }, 'events not recorded'),
      );
  }

  health(): GatewayHealth {
    // no secret value in any text of it (config/secret-scrub.ts)
    return scrubSecrets(this.rawHealth(), this.secrets);
  }

  /** The devices' health as the platform sees it (status, telemetry): no secret in any text. */
  private deviceHealth(): ReturnType<Driver['health']>[] {
    return scrubSecrets(
      [...(this.gateLink ? [this.gateLink] : []), ...this.drivers].map((d) => d.health()),
      this.secrets,
    );
  }

  private rawHealth(): GatewayHealth {
    const drivers = [...(this.gateLink ? [this.gateLink] : []), ...this.drivers].map((d) =>
      d.health(),
    );
    for (const [id, error] of this.driverErrors) {
      drivers.push({
        id,
        kind: 'unknown',
        state: 'failed',
        since: new Date(this.startedAtWall).toISOString(),
        lastError: { code: 'EDGE_DRIVER_START_FAILED', message: error },
        counters: {},
        details: {},
      });
    }
    // E-stop, jam, CT or scanner lost, gates safe: the line is not ok whatever the parts say
    const lineState = this.runner?.engine.state.line ?? 'starting';
    const reason = this.runner ? lineReason(lineState, this.lineCondition()) : null;
    return gatewayHealth({
      phase: this.phase,
      line: { state: lineState, reason: reason?.code ?? null, detail: reason?.text ?? null },
      version: this.o.version,
      gatewayId: this.o.config.gateway.id,
      startedAtWall: this.startedAtWall,
      clock: this.o.clock,
      drivers,
      outbox: this.outbox?.stats() ?? null,
      record: this.outbox?.condition() ?? null,
      uplink: this.platformUplink?.health() ?? null,
      commands: this.commands?.health() ?? null,
      plcHandOff: this.plcHandOff.health(),
      engine: this.engineHealth(),
      stackLight: { lamps: this.stackLight.current, condition: this.stackLight.condition },
      inspector: this.inspector?.desk.health() ?? null,
    });
  }

  private engineHealth(): EngineHealth {
    return {
      tracked: this.runner?.engine.trackedCount() ?? 0,
      decisions: this.runner?.decisions ?? 0,
      line: this.runner?.engine.state ?? null,
      targetingVersion: this.runner?.targeting?.active()?.version ?? null,
    };
  }

  /** What the stack light shows (domain.md colours), from the engine, drivers, uplink and alarms. */
  lineCondition(): LineCondition {
    const recent =
      this.lastAlarm && this.o.clock.monoMs() - this.lastAlarm.atMono < 30_000
        ? this.lastAlarm.type
        : null;
    return lineCondition({
      engine: this.runner?.engine.state ?? null,
      gates: this.gateLink?.gateState ?? null,
      drivers: this.drivers.map((d) => d.health()),
      uplinkState: this.platformUplink?.health().state ?? null,
      recentAlarm: recent,
      record: this.outbox?.condition() ?? null,
    });
  }

  stop(): Promise<void> {
    if (!this.stopPromise) {
      this.stopPromise = (async () => {
        this.phase = 'stopping';
        this.o.clock.clearTimer(this.stackLightTimer);
        const log = this.o.log;
        this.plcHandOff.stop();
        await Promise.allSettled(this.drivers.map((d) => d.stop()));
        this.runner?.stop();
        this.telemetry?.stop();
        this.commands?.stop(); // late reply deliveries; a running command still answers
        await this.gateLink
          ?.stop()
          .catch((err: unknown) => log.warn({ err }, 'gate link stop failed'));
        this.record([eventDraft('gateway.stopped', null, this.o.clock.monoMs(), {})]);
        this.outbox?.flush();
        await this.http?.close().catch((err: unknown) => log.warn({ err }, 'http close failed'));
        await this.platformUplink
          ?.stop()
          .catch((err: unknown) => log.warn({ err }, 'uplink stop failed'));
        this.outbox?.close();
        this.inspector?.desk.close(); // issue 16: after the last events reached its queue
        this.replyStore?.close();
        this.nonceStore?.close();
        await this.broker?.stop().catch((err: unknown) => log.warn({ err }, 'broker stop failed'));
        this.phase = 'stopped';
      })();
    }
    return this.stopPromise;
  }
}
