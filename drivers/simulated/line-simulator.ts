import { Type, type Static } from 'typebox';
import type { LineConfig } from '../../config/schema.js';
import type { CtVerdict } from '../../edge/engine/types.js';
import { makeS10 } from '../../edge/identifiers/s10.js';
import { BaseDriver, type DriverContext } from '../driver.js';
import { between, seededRandom } from './random.js';

/**
 * A simulated customs line: induction photo-eye, barcode scanner and CT scanner, producing
 * parcels at a configurable rate through the same Driver contract real drivers use. It keeps the
 * ground truth of each parcel (what the CT really said, whether the verdict was late) so tests can
 * check the engine's decisions.
 */

const Range = (min: number, max: number, description: string) =>
  Type.Object(
    { min: Type.Number({ minimum: min }), max: Type.Number({ maximum: max }) },
    { additionalProperties: false, description },
  );

export const SimulatedLineSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.Literal('simulated-line'),
    enabled: Type.Optional(Type.Boolean()),
    parcelsPerMinute: Type.Number({ exclusiveMinimum: 0, maximum: 6000, default: 60 }),
    gapJitter: Type.Number({ minimum: 0, maximum: 0.5, default: 0.2 }),
    parcelLengthMm: Range(50, 2000, 'parcel length range'),
    noReadRate: Type.Number({ minimum: 0, maximum: 1, default: 0.03 }),
    invalidIdRate: Type.Number({ minimum: 0, maximum: 1, default: 0.01 }),
    suspectRate: Type.Number({ minimum: 0, maximum: 1, default: 0.05 }),
    unknownRate: Type.Number({ minimum: 0, maximum: 1, default: 0.01 }),
    verdictDelayMs: Range(0, 600_000, 'CT verdict delay after the scan'),
    lateVerdictRate: Type.Number({ minimum: 0, maximum: 1, default: 0.02 }),
    missingVerdictRate: Type.Number({ minimum: 0, maximum: 1, default: 0.005 }),
    seed: Type.Optional(Type.Integer()),
    maxParcels: Type.Optional(Type.Integer({ minimum: 1 })),
    photoEyeId: Type.Optional(Type.String()),
    scannerId: Type.String({ default: 'scanner-1' }),
    ctId: Type.String({ default: 'ct-1' }),
  },
  { additionalProperties: false },
);
export type SimulatedLineConfig = Static<typeof SimulatedLineSchema>;

export interface SimulatedParcelTruth {
  index: number;
  inductedAtMono: number;
  lengthMm: number;
  code: string | null;
  codeValid: boolean;
  verdict: CtVerdict;
  /** verdict delivered after the parcel's decision deadline */
  late: boolean;
  /** verdict never delivered */
  missing: boolean;
}

export class SimulatedLineDriver extends BaseDriver {
  private readonly random: () => number;
  private readonly speed: number; // mm per ms
  private produced = 0;
  private readonly truth: SimulatedParcelTruth[] = [];
  private nextTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: SimulatedLineConfig,
    private readonly line: LineConfig,
    ctx: DriverContext,
  ) {
    super(config.id, 'simulated-line', ctx);
    this.random = seededRandom(config.seed ?? Math.floor(Math.random() * 2 ** 31));
    this.speed = line.beltSpeedMmPerS / 1000;
  }

  /** Ground truth of the last parcels (tests and the status page). */
  truthLog(): readonly SimulatedParcelTruth[] {
    return this.truth;
  }

  get parcelsProduced(): number {
    return this.produced;
  }

  protected onStart(): Promise<void> {
    this.scheduleNext(200);
    return Promise.resolve();
  }

  protected onStop(): Promise<void> {
    return Promise.resolve();
  }

  protected override healthDetails(): Record<string, unknown> {
    return { parcelsProduced: this.produced, parcelsPerMinute: this.config.parcelsPerMinute };
  }

  private verdictBudgetMs(): number {
    const l = this.line;
    const gates = [l.lanes.pass, l.lanes.exception].map((x) => x.positionMm);
    const first = Math.min(...gates);
    return (
      (first - l.ct.positionMm) / this.speed - l.decision.actuationLeadMs - l.decision.marginMs
    );
  }

  private scheduleNext(delayMs: number): void {
    if (this.config.maxParcels !== undefined && this.produced >= this.config.maxParcels) return;
    this.nextTimer = this.setTimer(() => this.induct(), delayMs);
  }

  private induct(): void {
    const c = this.config;
    const len = between(this.random, c.parcelLengthMm.min, c.parcelLengthMm.max);
    const t0 = this.clock.monoMs();
    const index = this.produced++;
    const lenMs = len / this.speed;

    // next parcel: mean interval from the rate, jittered, never closer than length + 100 mm gap
    const mean = 60_000 / c.parcelsPerMinute;
    const jittered = mean * (1 + (this.random() * 2 - 1) * c.gapJitter);
    const minimum = lenMs + 100 / this.speed;
    this.scheduleNext(Math.max(jittered, minimum));

    this.emitSignal({
      type: 'photoEye',
      deviceId: c.photoEyeId ?? this.line.inductionPhotoEye,
      atMono: t0,
      edge: 'leading',
    });
    this.at(t0 + lenMs, () =>
      this.emitSignal({
        type: 'photoEye',
        deviceId: c.photoEyeId ?? this.line.inductionPhotoEye,
        atMono: t0 + lenMs,
        edge: 'trailing',
      }),
    );

    // barcode
    const serial = String(Math.floor(this.random() * 1e8)).padStart(8, '0');
    let code: string | null = makeS10('RD', serial, 'CN');
    let codeValid = true;
    const r = this.random();
    if (r < c.noReadRate) {
      code = null;
      codeValid = false;
    } else if (r < c.noReadRate + c.invalidIdRate) {
      code = `RD${serial}${(Number(code[10]) + 1) % 10}CN`; // wrong check digit
      codeValid = false;
    }
    const readAt = t0 + (this.line.scanner.positionMm + len / 2) / this.speed;
    const readCode = code;
    const readValid = codeValid;
    this.at(readAt, () =>
      this.emitSignal({
        type: 'barcode',
        deviceId: c.scannerId,
        atMono: readAt,
        code: readCode,
        valid: readValid,
      }),
    );

    // CT verdict
    const v = this.random();
    const verdict: CtVerdict =
      v < c.suspectRate ? 'suspect' : v < c.suspectRate + c.unknownRate ? 'unknown' : 'clear';
    const scannedAt = t0 + (this.line.ct.positionMm + len / 2) / this.speed;
    const budget = this.verdictBudgetMs() - len / 2 / this.speed;
    const f = this.random();
    const missing = f < c.missingVerdictRate;
    const late = !missing && f < c.missingVerdictRate + c.lateVerdictRate;
    const delay = late
      ? budget + between(this.random, 200, 2000)
      : Math.min(
          between(this.random, c.verdictDelayMs.min, c.verdictDelayMs.max),
          Math.max(0, budget - 300),
        );
    this.truth.push({
      index,
      inductedAtMono: t0,
      lengthMm: len,
      code,
      codeValid,
      verdict,
      late,
      missing,
    });
    if (this.truth.length > 10_000) this.truth.shift();
    if (!missing) {
      const scanId = `CT${String(index).padStart(8, '0')}`;
      this.at(scannedAt + delay, () =>
        this.emitSignal({
          type: 'ctVerdict',
          deviceId: c.ctId,
          scannedAtMono: scannedAt,
          verdict,
          scanId,
          imageId: `IMG-${scanId}`,
        }),
      );
    }
  }

  private at(mono: number, fn: () => void): void {
    this.setTimer(fn, Math.max(0, mono - this.clock.monoMs()));
  }
}
