import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parse } from 'yaml';
import { ConfigValidator } from '../../config/loader.js';
import type { GatewayConfig } from '../../config/schema.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { ManualClock } from '../support/clocks.js';
import { engineConfigFrom } from '../../config/engine-config.js';
import { openEngineStores } from '../../edge/gateway/engine-stores.js';
import { EngineRunner } from '../../edge/engine/engine-runner.js';
import type { CtVerdict } from '../../edge/engine/types.js';
import type { EdgeEvent } from '../../edge/events/model.js';
import { UuidV7Generator } from '../../edge/events/uuidv7.js';
import { UserDirectory } from '../../edge/http/auth.js';
import { ParcelBoard } from '../../edge/http/parcel-board.js';
import { inspectorRoutes } from '../../edge/http/routes/inspector-routes.js';
import { buildHttpServer, type RouteModule } from '../../edge/http/server.js';
import { InspectorDesk } from '../../edge/inspector/desk.js';
import { silentLogger } from '../../edge/log.js';
import { Outbox } from '../../edge/outbox/outbox.js';
import { waitFor } from '../support/wait.js';

/**
 * The inspector desk on real parts: an SQLite outbox file, the inspector's SQLite file, the real
 * line engine (EngineRunner on a hand-moved clock, no devices: the test feeds its signals) and
 * the HTTP server with the inspector routes, driven through inject().
 */

export const USERS = {
  officer: { name: 'officer-li', role: 'inspector', password: 'officer-li-secret' },
  officer2: { name: 'officer-wang', role: 'inspector', password: 'officer-wang-secret' },
  viewer: { name: 'viewer', role: 'viewer', password: 'viewer-secret' },
  technician: { name: 'tech', role: 'technician', password: 'tech-secret-1' },
} as const;
export type UserKey = keyof typeof USERS;

export function auth(user: UserKey): Record<string, string> {
  const u = USERS[user];
  return { authorization: `Basic ${Buffer.from(`${u.name}:${u.password}`).toString('base64')}` };
}

export function exampleConfig(dir: string, inspector: Record<string, unknown> = {}): GatewayConfig {
  const doc = parse(
    readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
  ) as Record<string, unknown>;
  doc.dataDir = dir;
  doc.inspector = { imageUrlTemplate: 'https://ct.local/view?img={imageId}', ...inspector };
  return new ConfigValidator(driverKindSchemas()).parse(doc);
}

export interface Rig {
  dir: string;
  clock: ManualClock;
  config: GatewayConfig;
  outbox: Outbox;
  desk: InspectorDesk;
  runner: EngineRunner;
  app: FastifyInstance;
  committed: EdgeEvent[];
  /** the induction time of the last parcel driven by parcel() */
  lastT0(): number;
  /** drive one parcel through induction, read and CT verdict; resolves with its id once decided */
  parcel(code: string | null, verdict: CtVerdict | null, imageId?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startRig(
  options: { dir?: string; inspector?: Record<string, unknown>; extraRoutes?: RouteModule[] } = {},
): Promise<Rig> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'edge-inspector-'));
  const config = exampleConfig(dir, options.inspector);
  const clock = new ManualClock(1_000);
  const log = silentLogger();
  const outbox = new Outbox({
    file: join(dir, config.outbox.file),
    gatewayId: config.gateway.id,
    synchronous: 'FULL',
    batchMaxRows: 500,
    clock,
    log,
  });
  const committed: EdgeEvent[] = [];
  outbox.onCommitted((events) => committed.push(...events));
  let runner: EngineRunner | null = null;
  const desk = new InspectorDesk({
    config: config.inspector,
    dataDir: dir,
    events: outbox,
    engine: () => runner,
    clock,
    log,
    eventRetentionS: config.outbox.deliveredRetentionS,
  });
  desk.start();
  const ids = new UuidV7Generator(() => clock.wallMs());
  const parcelIds: string[] = [];
  runner = new EngineRunner({
    engine: engineConfigFrom(config.line),
    lineId: config.line.id,
    clock,
    log,
    newParcelId: () => {
      const id = ids.next();
      parcelIds.push(id);
      return id;
    },
    sendGateCommand: () => {},
    cancelGateCommand: () => true,
    recordEvents: (events) => void outbox.append(events),
    stores: openEngineStores(join(dir, config.line.stateFile), log, clock),
  });
  const app = await buildHttpServer({
    log,
    users: new UserDirectory(Object.values(USERS).map((u) => ({ ...u }))),
    board: new ParcelBoard(),
    health: () => ({ status: 'ok' }),
    runningConfig: () => ({}),
    routes: [inspectorRoutes({ desk: () => desk }), ...(options.extraRoutes ?? [])],
  });
  const engine = runner;
  let lastT0 = 0;

  async function parcel(
    code: string | null,
    verdict: CtVerdict | null,
    imageId = 'IMG-1',
  ): Promise<string> {
    const t0 = clock.monoMs();
    const at = (ms: number) => {
      clock.set(t0 + ms);
      return t0 + ms;
    };
    engine.handle({ type: 'photoEye', deviceId: 'pe-infeed', atMono: at(0), edge: 'leading' });
    engine.handle({ type: 'photoEye', deviceId: 'pe-infeed', atMono: at(400), edge: 'trailing' });
    const pid = parcelIds[parcelIds.length - 1]!;
    engine.handle({
      type: 'barcode',
      deviceId: 'scanner-1',
      atMono: at(1000),
      code,
      valid: code !== null,
    });
    at(2300);
    if (verdict === null) {
      // no verdict: the decision deadline passes (any input runs the engine's timers)
      engine.handle({ type: 'beltSpeed', deviceId: 'plc', atMono: at(7000), mmPerS: 1000 });
    } else
      engine.handle({
        type: 'ctVerdict',
        deviceId: 'ct-1',
        scannedAtMono: t0 + 2200,
        verdict,
        scanId: `SCAN-${parcelIds.length}`,
        imageId,
        details: { waybill: code, confidence: 0.87, operator: null },
      });
    await waitFor(() => committed.some((e) => e.parcelId === pid && e.type === 'parcel.decided'), {
      what: `parcel ${pid} decided`,
    });
    // the next parcel starts well after this one, so verdicts match by position
    if (verdict !== null) at(3000);
    lastT0 = t0;
    return pid;
  }

  return {
    dir,
    clock,
    config,
    outbox,
    desk,
    runner: engine,
    app,
    committed,
    lastT0: () => lastT0,
    parcel,
    async close() {
      await app.close();
      engine.stop();
      outbox.close();
      desk.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
