import type { DivertPlanner } from './divert.js';
import { ev, type TrackedParcel } from './parcel.js';
import type { LinePositions } from './positions.js';
import type { BeltTracker } from './tracking.js';
import type {
  DeviceStatusInput,
  EncoderInput,
  EngineConfig,
  EngineOutput,
  LineStateInput,
  PhotoEyeInput,
} from './types.js';

/**
 * The line's condition as the engine sees it: running / stopped / jam / E-stop, the induction
 * photo-eye blocked (jam timeout), and which devices are lost (CT, scanner, tracking source,
 * encoder silent). Every loss marks the parcels it concerns unknown or device-lost, so the
 * fail-safe re-decides them to inspection; a parcel inducted while a loss lasts starts marked.
 */
export class LineCondition {
  private lineState: LineStateInput['state'] = 'running';
  private blockedSince: number | null = null;
  private ctDown: string | null = null;
  private scannerDown: string | null = null;
  private trackingDown: string | null = null;
  private staleReported = false;

  constructor(
    private readonly config: EngineConfig,
    private readonly parcels: readonly TrackedParcel[],
    private readonly tracker: BeltTracker,
    private readonly pos: LinePositions,
    private readonly diverts: DivertPlanner,
  ) {}

  get state(): { line: string; ctDown: string | null; scannerDown: string | null } {
    return { line: this.lineState, ctDown: this.ctDown, scannerDown: this.scannerDown };
  }

  /** Why a parcel inducted now has an unknown position (line not running, tracking lost), or null. */
  inductionUnknown(): string | null {
    const frozen = this.lineState !== 'running' ? `inducted while line ${this.lineState}` : null;
    return frozen ?? this.trackingDown;
  }

  /** The lost device a parcel inducted now will never be read by, or null. */
  inductionDeviceLost(): string | null {
    return this.ctDown ?? this.scannerDown;
  }

  /**
   * An edge of the induction photo-eye: tracks the blocked time (jam detection), sets the length
   * of the parcel whose trailing edge passed, clears a jam. True when a leading edge inducts a
   * new parcel (the caller creates it).
   */
  photoEye(input: PhotoEyeInput, out: EngineOutput): boolean {
    if (input.edge === 'trailing') {
      if (this.blockedSince === null) {
        out.events.push(ev('photoeye.pulse-lost', null, input.atMono, { edge: 'leading' }));
        return false;
      }
      this.blockedSince = null;
      const last = this.parcels.at(-1);
      if (last && last.lengthMm === null)
        last.lengthMm = Math.max(1, Math.round(this.pos.lead(last, input.atMono)));
      if (this.lineState === 'jam') this.resume(input.atMono, 'jam cleared at the photo-eye', out);
      return false;
    }
    if (this.blockedSince !== null) {
      // a leading edge while blocked: the trailing edge of the last parcel was lost
      out.events.push(ev('photoeye.pulse-lost', null, input.atMono, { edge: 'trailing' }));
      if (this.lineState === 'jam') this.resume(input.atMono, 'photo-eye cleared', out);
    }
    this.blockedSince = input.atMono;
    return true;
  }

  encoder(input: EncoderInput, out: EngineOutput): void {
    if (input.deviceId !== (this.config.tracking?.encoderId ?? input.deviceId)) return;
    const discontinuity = this.tracker.encoder(input.atMono, input.count);
    this.staleReported = false;
    if (discontinuity) this.markAllUnknown(discontinuity, input.atMono, out);
    this.diverts.retime(this.parcels, out, 'encoder speed changed', input.atMono);
  }

  deviceStatus(input: DeviceStatusInput, out: EngineOutput): void {
    const { role, ok, deviceId, atMono } = input;
    const isCt = role === 'ct' || deviceId === this.config.ct.deviceId;
    const isScanner = role === 'scanner' || deviceId === this.config.scanner.deviceId;
    const isTracking =
      this.config.tracking?.mode === 'encoder' &&
      (role === 'plc' || deviceId === this.config.tracking.encoderId);
    const reason = `${deviceId}: ${input.reason}`;
    out.events.push(
      ev(ok ? 'device.restored' : 'alarm.device-lost', null, atMono, {
        ...input,
        lineId: this.config.lineId,
      }),
    );
    if (isCt) {
      this.ctDown = ok ? null : `CT link lost (${reason})`;
      if (!ok)
        for (const p of this.parcels)
          if (p.verdict === null) this.lose(p, this.ctDown, out, atMono);
    }
    if (isScanner) {
      this.scannerDown = ok ? null : `scanner link lost (${reason})`;
      if (!ok)
        for (const p of this.parcels)
          if (p.codeState === 'pending') this.lose(p, this.scannerDown, out, atMono);
    }
    if (isTracking) {
      this.trackingDown = ok ? null : `tracking source lost (${reason})`;
      if (!ok) this.markAllUnknown(this.trackingDown ?? reason, atMono, out);
    }
  }

  lineStateChanged(input: LineStateInput, out: EngineOutput): void {
    const previous = this.lineState;
    out.events.push(
      ev(
        input.state === 'running' || input.state === 'stopped'
          ? 'line.state'
          : `alarm.${input.state}`,
        null,
        input.atMono,
        {
          lineId: this.config.lineId,
          deviceId: input.deviceId,
          state: input.state,
          previous,
          reason: input.reason ?? null,
        },
      ),
    );
    if (input.state === 'running') {
      if (previous !== 'running') this.resume(input.atMono, input.reason ?? 'line running', out);
      return;
    }
    this.lineState = input.state;
    this.tracker.setRunning(input.atMono, false);
    if (input.state === 'estop' || input.state === 'jam')
      this.markAllUnknown(
        `${input.state}${input.reason ? `: ${input.reason}` : ''}`,
        input.atMono,
        out,
      );
    this.diverts.retime(this.parcels, out, `line ${input.state}`, input.atMono);
  }

  /** The time-driven losses due at `nowMono`: encoder silent, photo-eye blocked too long (jam). */
  runTimers(nowMono: number, out: EngineOutput): void {
    const stale = this.tracker.staleAtMono();
    if (stale !== null && nowMono >= stale && !this.staleReported && this.parcels.length > 0) {
      this.staleReported = true;
      this.markAllUnknown('encoder silent: tracking lost', nowMono, out);
    }
    const jam = this.config.jamTimeoutMs;
    if (
      jam &&
      this.blockedSince !== null &&
      this.lineState === 'running' &&
      nowMono >= this.blockedSince + jam
    ) {
      this.lineState = 'jam';
      this.tracker.setRunning(this.blockedSince + jam, false);
      out.events.push(
        ev('alarm.jam', null, nowMono, {
          lineId: this.config.lineId,
          blockedSinceMono: this.blockedSince,
          deviceId: this.config.inductionPhotoEyeId,
        }),
      );
      this.markAllUnknown('jam at the induction photo-eye', nowMono, out);
      this.diverts.retime(this.parcels, out, 'jam', nowMono);
    }
  }

  /** The next time `runTimers` has something to do (Infinity when nothing is waiting). */
  nextWakeMono(): number {
    let next = Infinity;
    if (this.blockedSince !== null && this.lineState === 'running' && this.config.jamTimeoutMs)
      next = Math.min(next, this.blockedSince + this.config.jamTimeoutMs);
    const stale = this.tracker.staleAtMono();
    if (stale !== null && !this.staleReported && this.parcels.length > 0)
      next = Math.min(next, stale);
    return next;
  }

  private resume(atMono: number, reason: string, out: EngineOutput): void {
    this.lineState = 'running';
    this.tracker.setRunning(atMono, true);
    if (this.blockedSince !== null) this.blockedSince = atMono;
    this.diverts.retime(this.parcels, out, 'line resumed', atMono);
    out.events.push(ev('line.resumed', null, atMono, { lineId: this.config.lineId, reason }));
  }

  private lose(p: TrackedParcel, reason: string | null, out: EngineOutput, atMono: number): void {
    p.deviceLost ??= reason;
    this.diverts.recheck(p, out, atMono);
  }

  private markAllUnknown(reason: string, atMono: number, out: EngineOutput): void {
    let count = 0;
    for (const p of this.parcels) {
      if (p.gate?.done) continue;
      p.unknown ??= reason;
      count++;
      this.diverts.recheck(p, out, atMono);
    }
    out.events.push(
      ev('tracking.lost', null, atMono, { lineId: this.config.lineId, reason, parcels: count }),
    );
  }
}
