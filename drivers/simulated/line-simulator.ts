import { Type, type Static } from 'typebox';
import type { LineConfig } from '../../config/schema.js';
import { engineConfigFrom } from '../../config/engine-config.js';
import type { CtVerdict, EngineInput } from '../../edge/engine/types.js';
import { BaseDriver, type DriverContext } from '../driver.js';
import { LineModel, NO_FAULTS, type LineModelOptions, type ParcelTruth } from './line-model.js';

/**
 * The simulated customs line, live: the same pure line model the simulated-time tests and the
 * soak run (drivers/simulated/line-model.ts), paced by the real clock. Every 10 ms it emits the
 * model's inputs that are due, with their exact model times shifted onto the monotonic clock.
 * It keeps the ground truth of each parcel so tests can check the engine's decisions.
 */

const Range = (min: number, max: number, description: string) =>
  Type.Object(
    { min: Type.Number({ minimum: min }), max: Type.Number({ maximum: max }) },
    { additionalProperties: false, description },
  );
const Rate = (value: number) => Type.Number({ minimum: 0, maximum: 1, default: value });
const Every = Type.Number({
  minimum: 0,
  default: 0,
  description: 'mean seconds between (0 = never)',
});

export const SimulatedLineSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.Literal('simulated-line'),
    enabled: Type.Optional(Type.Boolean()),
    parcelsPerMinute: Type.Number({ exclusiveMinimum: 0, maximum: 6000, default: 60 }),
    gapJitter: Type.Number({ minimum: 0, maximum: 0.5, default: 0.2 }),
    parcelLengthMm: Range(50, 2000, 'parcel length range'),
    noReadRate: Rate(0.03),
    invalidIdRate: Rate(0.01),
    suspectRate: Rate(0.05),
    unknownRate: Rate(0.01),
    targetedRate: Rate(0),
    verdictDelayMs: Range(0, 600_000, 'CT verdict delay after the scan'),
    lateVerdictRate: Rate(0.02),
    missingVerdictRate: Rate(0.005),
    faults: Type.Optional(
      Type.Object(
        {
          doubleReadRate: Rate(0),
          lostPulseRate: Rate(0),
          speedChangeEveryS: Every,
          speedJitter: Type.Number({ minimum: 0, maximum: 0.5, default: 0.1 }),
          stopEveryS: Every,
          estopEveryS: Every,
          ctLinkLossEveryS: Every,
        },
        { additionalProperties: false },
      ),
    ),
    seed: Type.Optional(Type.Integer()),
    maxParcels: Type.Optional(Type.Integer({ minimum: 1 })),
    photoEyeId: Type.Optional(Type.String()),
    scannerId: Type.String({ default: 'scanner-1' }),
    ctId: Type.String({ default: 'ct-1' }),
    scaleId: Type.String({ default: 'scale-1' }),
    plcId: Type.String({ default: 'plc-1' }),
    driveId: Type.String({ default: 'drive-1' }),
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
  targeted: boolean;
  verdict: CtVerdict;
  /** verdict delivered after the parcel's decision deadline */
  late: boolean;
  /** verdict never delivered */
  missing: boolean;
  faults: string[];
}

export function modelOptionsFrom(c: SimulatedLineConfig, line: LineConfig): LineModelOptions {
  const f = c.faults;
  return {
    seed: c.seed ?? Math.floor(Math.random() * 2 ** 31),
    parcels: c.maxParcels ?? Number.MAX_SAFE_INTEGER,
    pitchMm: (line.beltSpeedMmPerS * 60) / c.parcelsPerMinute,
    gapJitter: c.gapJitter,
    parcelLengthMm: c.parcelLengthMm,
    noReadRate: c.noReadRate,
    invalidIdRate: c.invalidIdRate,
    suspectRate: c.suspectRate,
    unknownRate: c.unknownRate,
    targetedRate: c.targetedRate,
    verdictDelayMs: c.verdictDelayMs,
    faults: {
      ...NO_FAULTS,
      lateVerdictRate: c.lateVerdictRate,
      missingVerdictRate: c.missingVerdictRate,
      ...(f
        ? {
            doubleReadRate: f.doubleReadRate,
            lostPulseRate: f.lostPulseRate,
            speedChangeEveryS: f.speedChangeEveryS,
            speedJitter: f.speedJitter,
            stopEveryS: f.stopEveryS,
            stopMs: { min: 2000, max: 20_000 },
            estopEveryS: f.estopEveryS,
            estopMs: { min: 5000, max: 30_000 },
            ctLinkLossEveryS: f.ctLinkLossEveryS,
            ctLinkLossMs: { min: 1000, max: 10_000 },
          }
        : {}),
    },
    devices: {
      scannerId: c.scannerId,
      ctId: c.ctId,
      scaleId: c.scaleId,
      plcId: c.plcId,
      driveId: c.driveId,
    },
  };
}

export class SimulatedLineDriver extends BaseDriver {
  private readonly model: LineModel;
  private readonly truth: SimulatedParcelTruth[] = [];
  private t0 = 0;

  constructor(
    private readonly config: SimulatedLineConfig,
    line: LineConfig,
    ctx: DriverContext,
  ) {
    super(config.id, 'simulated-line', ctx);
    const engineLine = engineConfigFrom(line);
    if (config.photoEyeId) engineLine.inductionPhotoEyeId = config.photoEyeId;
    this.model = new LineModel(modelOptionsFrom(config, line), engineLine);
  }

  /** Ground truth of the last parcels (tests and the status page). */
  truthLog(): readonly SimulatedParcelTruth[] {
    return this.truth;
  }

  /** The waybills the simulator marks as targeted (load them as a targeting list). */
  get targetedCodes(): readonly string[] {
    return this.model.targetedCodes;
  }

  get parcelsProduced(): number {
    return this.model.parcelsProduced;
  }

  protected onStart(): Promise<void> {
    this.t0 = this.clock.monoMs() + 200;
    this.setRepeating(() => this.tick(), 10);
    return Promise.resolve();
  }

  protected onStop(): Promise<void> {
    return Promise.resolve();
  }

  protected override healthDetails(): Record<string, unknown> {
    return {
      parcelsProduced: this.model.parcelsProduced,
      parcelsPerMinute: this.config.parcelsPerMinute,
    };
  }

  private tick(): void {
    const due = this.clock.monoMs() - this.t0;
    while (this.model.peekTime() <= due) {
      const next = this.model.nextItem();
      if (!next) return;
      const item = next.item;
      if (item.kind === 'parcel') this.remember(item.truth);
      else if (item.kind === 'input') this.emitSignal(this.shift(item.input));
      // gateway restarts are a simulated-time fault only (the gateway cannot restart itself here)
    }
  }

  private shift(input: EngineInput): EngineInput {
    const t0 = this.t0;
    if (input.type === 'ctVerdict')
      return {
        ...input,
        scannedAtMono: input.scannedAtMono === null ? null : input.scannedAtMono + t0,
      };
    return { ...input, atMono: input.atMono + t0 };
  }

  private remember(t: ParcelTruth): void {
    this.truth.push({
      index: t.index,
      inductedAtMono: t.inductedAtMono + this.t0,
      lengthMm: t.lengthMm,
      code: t.codeRead === 'noread' ? null : t.code,
      codeValid: t.codeRead === 'ok',
      targeted: t.targeted,
      verdict: t.verdict,
      late: t.verdictFate === 'late',
      missing: t.verdictFate === 'missing' || t.verdictFate === 'lost-in-ct-outage',
      faults: t.faults,
    });
    if (this.truth.length > 10_000) this.truth.shift();
  }
}
