import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import type { ParcelKind } from '../../drivers/opcua/sim/line-flow.js';
import type { SortedParcel } from '../../drivers/opcua/sim/sorter-sim.js';
import { systemClock } from '../../edge/clock.js';
import type { EdgeEvent } from '../../edge/events/model.js';
import { Gateway } from '../../edge/gateway/gateway.js';
import { silentLogger } from '../../edge/log.js';
import { OpcuaSim, type SimMessage } from '../opcua/sim-process.js';
import { freePort } from './mosquitto.js';
import { waitFor } from './wait.js';

/**
 * The real-line rig: the OPC UA simulator process playing a vendor-shaped CT (review results by
 * waybill, no scan time, `reviewDelayMs` after the tunnel) and sorter PLC (integer destinations,
 * its own tracking ids, default destination pass), and a whole gateway running
 * config/examples/opcua-line.yaml against it. `run` sends parcels of given kinds through the line
 * and returns where the PLC sorted each one and what the gateway recorded meanwhile.
 */
export const DESTINATION = { inspection: 1, exception: 2, pass: 3 } as const;

export interface RunResult {
  sorted: SortedParcel[];
  events: EdgeEvent[];
  /** engine issue -> PLC acknowledgement, per hand-off */
  ackMs: number[];
}

export class SorterLineRig {
  private readonly events: EdgeEvent[] = [];

  private constructor(
    readonly sim: OpcuaSim,
    readonly gateway: Gateway,
    private readonly dataDir: string,
  ) {}

  static async start(
    o: { reviewDelayMs?: number; defaultDestination?: number } = {},
  ): Promise<SorterLineRig> {
    // a loaded machine (other test runs) can take a while to start node-opcua
    const sim = new OpcuaSim(await freePort(), [
      '--review-delay-ms',
      String(o.reviewDelayMs ?? 1500),
      '--default-destination',
      String(o.defaultDestination ?? DESTINATION.pass),
      '--decision-mm',
      '8000',
    ]);
    await sim.start(180_000);
    const dataDir = mkdtempSync(join(tmpdir(), 'sorter-line-'));
    try {
      const gateway = new Gateway({
        config: await lineConfig(dataDir, sim.endpoint),
        log: silentLogger(),
        clock: systemClock,
        version: 'test',
      });
      const rig = new SorterLineRig(sim, gateway, dataDir);
      await gateway.start();
      gateway.outbox?.onCommitted((events) => rig.events.push(...events));
      await waitFor(
        () => {
          const d = gateway.health().drivers as { kind: string; state: string }[];
          return d.find((x) => x.kind === 'opcua')?.state === 'running';
        },
        { timeoutMs: 60_000, what: 'OPC UA connected and every signal monitored' },
      );
      return rig;
    } catch (err) {
      await sim.dispose();
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Parcels of these kinds, `gapMs` apart at `beltMmS`, through the line; resolves after the last sort. */
  async run(kinds: readonly ParcelKind[], beltMmS: number, gapMs: number): Promise<RunResult> {
    const fromMessage = this.sim.messages.length;
    const fromEvent = this.events.length;
    const durationMs = kinds.length * gapMs + (8000 / beltMmS) * 1000;
    const done = this.sim.next((m) => m.event === 'runDone', durationMs + 30_000);
    await this.sim.command({ cmd: 'run', kinds, gapMs, beltMmS });
    await done;
    // the last hand-off events reach the outbox within a moment
    await new Promise((r) => setTimeout(r, 300));
    const sorted = this.sim.messages
      .slice(fromMessage)
      .filter((m: SimMessage) => m.event === 'sorted') as unknown as SortedParcel[];
    const events = this.events.slice(fromEvent);
    const ackMs = events
      .filter((e) => e.type === 'plc.handoff' && e.payload.via !== 'unchanged')
      .map((e) => Number(e.payload.totalMs));
    return { sorted, events, ackMs };
  }

  async stop(): Promise<void> {
    await this.gateway.stop();
    await this.sim.dispose();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

async function lineConfig(dataDir: string, endpoint: string) {
  const doc = parse(
    readFileSync(new URL('../../config/examples/opcua-line.yaml', import.meta.url), 'utf8'),
  ) as Record<string, any>;
  doc.dataDir = dataDir;
  doc.log = { level: 'silent', pretty: false };
  doc.http.port = 0;
  doc.embeddedBroker.port = await freePort();
  // the belt runs at 0.5 and at 2 m/s (the live speed signal): budgets are checked at 2 m/s
  doc.line.tracking.maxSpeedMmPerS = 2000;
  for (const driver of doc.drivers as { kind: string; servers: { endpointUrl: string }[] }[])
    if (driver.kind === 'opcua') for (const s of driver.servers) s.endpointUrl = endpoint;
  return new ConfigValidator(driverKindSchemas()).parse(doc);
}

/** Parcels of every kind in a fixed shuffled order (a clear parcel between most of the others). */
export function mixedKinds(n: number, seed = 7): ParcelKind[] {
  const pattern: ParcelKind[] = [
    'clear',
    'suspect',
    'clear',
    'unread',
    'clear',
    'unknown',
    'clear',
    'late',
    'clear',
    'invalid',
    'clear',
    'missing',
  ];
  const out: ParcelKind[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(i < pattern.length ? pattern[i]! : pattern[x % pattern.length]!);
  }
  return out;
}
