import { LineEngine } from '../../edge/engine/line-engine.js';
import type {
  CtVerdict,
  EngineConfig,
  EngineEventDraft,
  EngineInput,
  EngineOutput,
} from '../../edge/engine/types.js';

/** Geometry of the skeleton tests: 1000 mm/s, scanner 800, CT 2000, gates 7000 / 8000, end 9000. */
export function lineConfig(over: Partial<EngineConfig> = {}): EngineConfig {
  return {
    lineId: 'line-1',
    beltSpeedMmPerS: 1000,
    inductionPhotoEyeId: 'pe-infeed',
    defaultParcelLengthMm: 400,
    scanner: { positionMm: 800, toleranceMm: 150 },
    ct: { positionMm: 2000, toleranceMm: 200 },
    decision: { actuationLeadMs: 50, marginMs: 300 },
    lanes: {
      exception: { gateId: 'gate-exception', positionMm: 7000 },
      pass: { gateId: 'gate-pass', positionMm: 8000 },
      inspection: { positionMm: 9000 },
    },
    ...over,
  };
}

/** An engine plus a log of everything it produced. */
export class Harness {
  readonly engine: LineEngine;
  readonly outs: EngineOutput[] = [];
  constructor(config: EngineConfig = lineConfig()) {
    let n = 0;
    this.engine = new LineEngine(config, () => `P${++n}`);
  }
  in(input: EngineInput, now: number): EngineOutput {
    const o = this.engine.handle(input, now);
    this.outs.push(o);
    return o;
  }
  at(now: number): EngineOutput {
    const o = this.engine.advance(now);
    this.outs.push(o);
    return o;
  }
  induct(at: number, lengthMm = 400, speedMmPerMs = 1): void {
    this.in({ type: 'photoEye', deviceId: 'pe-infeed', atMono: at, edge: 'leading' }, at);
    const t = at + lengthMm / speedMmPerMs;
    this.in({ type: 'photoEye', deviceId: 'pe-infeed', atMono: t, edge: 'trailing' }, t);
  }
  read(at: number, code: string | null, valid = code !== null): void {
    this.in({ type: 'barcode', deviceId: 'scanner-1', atMono: at, code, valid }, at);
  }
  verdict(scannedAt: number, verdict: CtVerdict, now: number, scanId = `S${scannedAt}`): void {
    this.in(
      {
        type: 'ctVerdict',
        deviceId: 'ct-1',
        scannedAtMono: scannedAt,
        verdict,
        scanId,
        imageId: null,
      },
      now,
    );
  }
  events(type?: string): EngineEventDraft[] {
    const all = this.outs.flatMap((o) => o.events);
    return type ? all.filter((e) => e.type === type) : all;
  }
  decisions(parcelId?: string): Record<string, unknown>[] {
    return this.events('parcel.decided')
      .filter((e) => !parcelId || e.parcelId === parcelId)
      .map((e) => e.payload);
  }
  lastDecision(parcelId: string): Record<string, unknown> | undefined {
    return this.decisions(parcelId).at(-1);
  }
  gateCommands() {
    return this.outs.flatMap((o) => o.gateCommands);
  }
  cancels() {
    return this.outs.flatMap((o) => o.gateCancels);
  }
  plc() {
    return this.outs.flatMap((o) => o.plcCommands);
  }
}
