import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/schema.js';
import { scrubSecrets, secretValues } from '../config/secret-scrub.js';
import type { Driver } from '../drivers/driver.js';
import { DRIVER_KINDS, type DriverKind } from '../drivers/kinds.js';
import type { Clock } from './clock.js';
import type { ConfigControl } from './config-control.js';
import { EngineRunner } from './engine/engine-runner.js';
import type { EventDraft } from './events/model.js';
import { UuidV7Generator } from './events/uuidv7.js';
import { GateLink } from './gate/gate-link.js';
import { StackLight, type LineCondition } from './gate/stack-light.js';
import { decisionOutputs, PlcHandOff } from './plc-hand-off.js';
import { UserDirectory } from './http/auth.js';
import { ParcelBoard } from './http/parcel-board.js';
import { withoutSecrets } from './http/redact.js';
import { httpsOptions } from './http/https-options.js';
import { buildHttpServer } from './http/server.js';
import {
  commandHandlers,
  handFireGuard,
  releaseHandHeldOn,
  routeModules,
  type GatewayParts,
} from './gateway-parts.js';
import { Outbox } from './outbox/outbox.js';
import { EmbeddedBroker } from './uplink/embedded-broker.js';
import { Uplink } from './uplink/uplink.js';
import { createDrivers } from './gateway-drivers.js';
import { CommandRouter } from './commands/router.js';
import { REPLY_STORE_FILE, ReplyStore } from './commands/reply-store.js';
import { NONCE_STORE_FILE, NonceStore } from './commands/nonce-store.js';
import { SystemProbe } from './telemetry/system-probe.js';
import { TelemetryPublisher } from './telemetry/telemetry.js';
import type { FastifyInstance } from 'fastify';

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
}

type Phase = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export class Gateway {
  readonly board = new ParcelBoard();
  outbox: Outbox | null = null;
  uplink: Uplink | null = null;
  commands: CommandRouter | null = null;
  private replyStore: ReplyStore | null = null;
  private nonceStore: NonceStore | null = null;
  telemetry: TelemetryPublisher | null = null;
  readonly stackLight = new StackLight(() => this.gateLink);
  private readonly plcHandOff: PlcHandOff;
  private readonly parts: GatewayParts;
  private stackLightTimer: NodeJS.Timeout | null = null;
  private lastAlarm: { atMono: number; type: string } | null = null;
  broker: EmbeddedBroker | null = null;
  gateLink: GateLink | null = null;
  runner: EngineRunner | null = null;
  http: FastifyInstance | null = null;
  readonly drivers: Driver[] = [];
  private phase: Phase = 'created';
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
        ],
        1000,
      ),
    );
    outbox.onCommitted((events) => {
      this.board.apply(events);
      for (const e of events) {
        if (e.type.startsWith('alarm.') || e.type === 'outbox.dropped')
          this.lastAlarm = { atMono: clock.monoMs(), type: e.type };
      }
    });

    const gateLink = new GateLink('gates', config.gates, { log: this.child('gates'), clock });
    this.gateLink = gateLink;
    gateLink.handFireGuard = handFireGuard(this.parts); // any hand fire, whatever asked for it
    gateLink.on('fired', (f) =>
      this.record([
        { type: 'gate.fired', parcelId: f.parcelId, atMono: f.actualMono, payload: { ...f } },
      ]),
    );
    gateLink.on('failed', (f) =>
      this.record([
        { type: 'gate.failed', parcelId: f.parcelId, atMono: clock.monoMs(), payload: { ...f } },
      ]),
    );
    // GPIO inputs (photo-eyes, E-stop, run, encoder) reach the engine like any driver's signals
    gateLink.on('signal', (signal) => this.runner?.handle(signal));
    gateLink.on('restarted', () => this.stackLight.reset());
    gateLink.on('restarted', (r) =>
      this.record([
        {
          type: 'gate.controller_restarted',
          parcelId: null,
          atMono: clock.monoMs(),
          payload: { ...r },
        },
      ]),
    );

    const parcelIds = new UuidV7Generator(() => clock.wallMs());
    this.runner = new EngineRunner({
      line: config.line,
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
      stateFile: resolve(dataDir, config.line.stateFile),
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
    await this.startDriver(gateLink);
    for (const driver of created) await this.startDriver(driver);

    const embedded = config.uplink.url === 'embedded' && this.broker !== null;
    const { username, password } = config.embeddedBroker;
    this.uplink = new Uplink({
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
    });
    this.startCommandsAndTelemetry(this.uplink, outbox, dataDir);
    this.uplink.start();

    this.http = await buildHttpServer({
      https: httpsOptions(config.http.tls),
      log: this.child('http'),
      users: new UserDirectory(config.http.users),
      health: () => this.health(),
      board: this.board,
      runningConfig: () => withoutSecrets(config),
      routes: routeModules(this.parts),
      ...(this.o.configControl ? { configControl: this.o.configControl } : {}),
      audit: (entry) => this.recordAudit(entry),
    });
    await this.http.listen({ host: config.http.host, port: config.http.port });

    this.record([
      {
        type: 'gateway.started',
        parcelId: null,
        atMono: clock.monoMs(),
        payload: { version: this.o.version, lineId: config.line.id },
      },
    ]);
    this.stackLightTimer = setInterval(() => this.stackLight.update(this.lineCondition()), 500);
    this.phase = 'running';
  }

  /** Platform commands (router + injected handlers) and periodic telemetry. */
  private startCommandsAndTelemetry(uplink: Uplink, outbox: Outbox, dataDir: string): void {
    const { config, clock } = this.o;
    if (config.uplink.commands.enabled) {
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
        devices: () =>
          [...(this.gateLink ? [this.gateLink] : []), ...this.drivers].map((d) => d.health()),
        uplink: () => this.uplink?.health() ?? null,
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
    this.record([{ type: 'audit', parcelId: null, atMono: this.o.clock.monoMs(), payload: entry }]);
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

  health(): Record<string, unknown> {
    // no secret value in any text of it (config/secret-scrub.ts)
    return scrubSecrets(this.rawHealth(), this.secrets);
  }

  private rawHealth(): Record<string, unknown> {
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
    // a reply store that could not be opened refuses state-changing commands: degraded too
    const anyBad =
      drivers.some((d) => d.state !== 'running') ||
      this.commands?.health().replyStore === 'unavailable';
    const uplink = this.uplink?.health();
    const status =
      this.phase === 'running'
        ? anyBad || uplink?.state !== 'connected'
          ? 'degraded'
          : 'ok'
        : this.phase === 'stopping' || this.phase === 'stopped'
          ? 'stopping'
          : 'starting';
    return {
      status,
      version: this.o.version,
      gatewayId: this.o.config.gateway.id,
      uptimeS: Math.round((this.o.clock.wallMs() - this.startedAtWall) / 1000),
      drivers,
      outbox: this.outbox?.stats() ?? {},
      uplink: uplink ?? {},
      commands: this.commands?.health() ?? null,
      engine: {
        tracked: this.runner?.engine.trackedCount() ?? 0,
        decisions: this.runner?.decisions ?? 0,
        line: this.runner?.engine.state ?? null,
        targetingVersion: this.runner?.targeting?.active()?.version ?? null,
      },
      stackLight: { lamps: this.stackLight.current, condition: this.stackLight.condition },
    };
  }

  /** What the stack light shows (domain.md colours), from the engine, drivers, uplink and alarms. */
  lineCondition(): LineCondition {
    const engine = this.runner?.engine.state;
    const gates = this.gateLink?.gateState;
    const bad = this.drivers.find((d) => d.health().state !== 'running');
    const uplink = this.uplink?.health().state;
    const alarm =
      this.lastAlarm && this.o.clock.monoMs() - this.lastAlarm.atMono < 30_000
        ? this.lastAlarm.type
        : null;
    return {
      failSafe:
        engine?.ctDown ??
        engine?.scannerDown ??
        (gates === 'safe' ? 'gate controller in safe state' : null),
      commError: bad
        ? `${bad.id} ${bad.health().state}`
        : uplink && uplink !== 'connected'
          ? `uplink ${uplink}`
          : null,
      alarm,
      unknown:
        engine && (engine.line === 'estop' || engine.line === 'jam') ? `line ${engine.line}` : null,
    };
  }

  stop(): Promise<void> {
    if (!this.stopPromise) {
      this.stopPromise = (async () => {
        this.phase = 'stopping';
        if (this.stackLightTimer) clearInterval(this.stackLightTimer);
        const log = this.o.log;
        await Promise.allSettled(this.drivers.map((d) => d.stop()));
        this.runner?.stop();
        this.telemetry?.stop();
        this.commands?.stop(); // late reply deliveries; a running command still answers
        await this.gateLink
          ?.stop()
          .catch((err: unknown) => log.warn({ err }, 'gate link stop failed'));
        this.record([
          { type: 'gateway.stopped', parcelId: null, atMono: this.o.clock.monoMs(), payload: {} },
        ]);
        this.outbox?.flush();
        await this.http?.close().catch((err: unknown) => log.warn({ err }, 'http close failed'));
        await this.uplink?.stop().catch((err: unknown) => log.warn({ err }, 'uplink stop failed'));
        this.outbox?.close();
        this.replyStore?.close();
        this.nonceStore?.close();
        await this.broker?.stop().catch((err: unknown) => log.warn({ err }, 'broker stop failed'));
        this.phase = 'stopped';
      })();
    }
    return this.stopPromise;
  }
}
