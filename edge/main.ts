/**
 * Composition root: read the config, build the logger and the gateway, start, stop on signals.
 * Development: `npm start` (tsx). Production: `node dist/edge/main.js --config /etc/...yaml`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigValidator, loadConfigFile } from '../config/loader.js';
import { PRECOMPILED_CONFIG_VALIDATORS } from '../config/precompiled-validators.js';
import { DRIVER_KINDS, driverKindSchemas } from '../drivers/kinds.js';
import { systemClock } from './clock.js';
import { isEdgeError } from './errors.js';
import { GatewayHost } from './gateway/host.js';
import { createRootLogger } from './log.js';
import { LogTail } from './log-tail.js';
import { ServiceNotifier } from './service-notify.js';

function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file))
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    dir = dirname(dir);
  }
  return '0.0.0';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string', short: 'c' } },
    allowPositionals: false,
  });
  const file = resolve(
    values.config ?? process.env.EDGE_CONFIG ?? 'config/examples/simulated-line.yaml',
  );
  // compiled once, for this load and the host's (Ajv compiling costs ~1 s on a Pi core)
  const validator = new ConfigValidator(driverKindSchemas(), PRECOMPILED_CONFIG_VALIDATORS);
  let loaded;
  try {
    loaded = loadConfigFile(file, {
      driverKinds: driverKindSchemas(),
      validator,
      persistMigration: true,
    });
  } catch (err) {
    if (isEdgeError(err)) {
      console.error(`[${err.code}] ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const { config } = loaded;
  const logTail = new LogTail();
  const log = createRootLogger(config.log, { tail: logTail });
  if (loaded.migratedFrom !== null) {
    log.warn(
      { file, from: loaded.migratedFrom, backup: loaded.backupPath },
      'configuration migrated',
    );
  }
  const version = packageVersion();
  const host = new GatewayHost({
    file,
    driverKinds: DRIVER_KINDS,
    log,
    clock: systemClock,
    version,
    logTail,
    validator,
  });

  // systemd Type=notify (provisioning/customs-edge.service): READY, STATUS, WATCHDOG, STOPPING
  const notifier = await ServiceNotifier.create({
    env: process.env,
    pid: process.pid,
    log: log.child({ module: 'systemd' }),
    // a configuration change stuck for 2 minutes (a driver that never stops, a hung restart) is
    // a gateway that no longer runs the line: let systemd restart it
    alive: () => host.applyingForMs() < 120_000,
  }).catch((err: unknown) => {
    log.error({ err }, 'systemd notify socket unusable');
    return null;
  });

  let stopping = false;
  const shutdown = (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    notifier?.stopping(`stopping (${signal})`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    host.stop().then(
      () => process.exit(exitCode),
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  // A library promise nobody awaited (node-opcua has such paths) must not take the line down
  // silently: log it and keep running. An uncaught exception leaves state unknown: log, stop
  // cleanly if possible (the gate controller goes safe on its own), exit non-zero for systemd.
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection (kept running)');
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; stopping');
    shutdown('uncaughtException', 1);
  });
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  try {
    await host.start(loaded);
  } catch (err) {
    log.fatal({ err }, 'gateway failed to start');
    await host.stop().catch(() => undefined);
    process.exit(1);
  }
  const gateway = host.gateway!;
  const ui = gateway.httpAddress ?? '?';
  const broker = gateway.broker
    ? gateway.broker.url
    : config.uplink.url.replace(/\/\/[^@]*@/, '//***@');
  const topics = `${config.uplink.topicRoot}/${config.gateway.site}/${config.gateway.id}/#`;
  log.info({ ui, health: `${ui}/api/health`, broker, topics }, 'gateway running');
  notifier?.ready(`gateway ${config.gateway.id} running; status page ${ui}/`);
  if (notifier?.watchdogIntervalMs) {
    log.info({ pingEveryMs: notifier.watchdogIntervalMs }, 'systemd watchdog enabled');
  }
  // a line every few seconds so a terminal shows the line working
  const summary = setInterval(() => {
    const gateway = host.gateway;
    if (!gateway) return;
    const h = gateway.health() as {
      engine: { tracked: number; decisions: number };
      outbox: { pending: number; delivered: number };
      uplink: { state: string };
    };
    const t = gateway.board.totals;
    notifier?.status(
      `decided ${h.engine.decisions} since start; recent lanes: inspection ${t.inspection}, pass ${t.pass}; uplink ${h.uplink.state}, ${h.outbox.pending} pending`,
    );
    log.info(
      {
        // the engine's count since this start; the lane counts are the parcel board's, which
        // starts from the last events in the outbox (parcels of the previous run included)
        decidedSinceStart: h.engine.decisions,
        recentLanes: { inspection: t.inspection, exception: t.exception, pass: t.pass },
        onBelt: h.engine.tracked,
        published: h.outbox.delivered,
        pending: h.outbox.pending,
        uplink: h.uplink.state,
      },
      'line summary',
    );
  }, 5000);
  summary.unref();
  process.stdout.write(
    `\n  Status page:  ${ui}/   (user and password: see http.users in ${file})\n` +
      `  Health:       ${ui}/api/health\n` +
      `  MQTT broker:  ${broker}${gateway.broker ? ' (embedded)' : ''}   topics: ${topics}\n\n`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
