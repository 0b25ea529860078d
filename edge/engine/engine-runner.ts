import type { Logger } from 'pino';
import type { LineConfig } from '../../config/schema.js';
import type { LineSignal } from '../../drivers/driver.js';
import type { Clock } from '../clock.js';
import type { EventDraft } from '../events/model.js';
import { LineEngine } from './line-engine.js';
import type { EngineConfig, EngineOutput, GateCommand } from './types.js';

/**
 * Drives the pure engine in real time: feeds it signals, wakes it at its next deadline, sends
 * gate commands first (the gate path never waits on storage), then hands events to the outbox.
 */
export interface EngineRunnerOptions {
  line: LineConfig;
  clock: Clock;
  log: Logger;
  newParcelId: () => string;
  sendGateCommand: (command: GateCommand) => void;
  recordEvents: (events: EventDraft[]) => void;
}

export function engineConfigFrom(line: LineConfig): EngineConfig {
  const lane = (l: LineConfig['lanes']['pass']) =>
    l.gate ? { gateId: l.gate, positionMm: l.positionMm } : { positionMm: l.positionMm };
  return {
    lineId: line.id,
    beltSpeedMmPerS: line.beltSpeedMmPerS,
    inductionPhotoEyeId: line.inductionPhotoEye,
    defaultParcelLengthMm: line.defaultParcelLengthMm,
    scanner: line.scanner,
    ct: line.ct,
    decision: line.decision,
    lanes: {
      inspection: lane(line.lanes.inspection),
      exception: lane(line.lanes.exception),
      pass: lane(line.lanes.pass),
    },
  };
}

export class EngineRunner {
  readonly engine: LineEngine;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly log: Logger;
  decisions = 0;

  constructor(private readonly o: EngineRunnerOptions) {
    this.engine = new LineEngine(engineConfigFrom(o.line), o.newParcelId);
    this.log = o.log;
  }

  handle(signal: LineSignal): void {
    if (this.stopped) return;
    this.apply(this.engine.handle(signal, this.o.clock.monoMs()));
  }

  private wake(): void {
    this.timer = null;
    if (this.stopped) return;
    this.apply(this.engine.advance(this.o.clock.monoMs()));
  }

  private apply(out: EngineOutput): void {
    for (const command of out.gateCommands) {
      try {
        this.o.sendGateCommand(command);
      } catch (err) {
        this.log.error({ err, command }, 'gate command failed');
      }
    }
    if (out.events.length > 0) {
      this.decisions += out.events.filter((e) => e.type === 'parcel.decided').length;
      this.o.recordEvents(out.events);
    }
    this.reschedule();
  }

  private reschedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const next = this.engine.nextWakeMono();
    if (next === null || this.stopped) return;
    const delay = Math.max(0, Math.ceil(next - this.o.clock.monoMs()));
    this.timer = setTimeout(() => this.wake(), delay);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
