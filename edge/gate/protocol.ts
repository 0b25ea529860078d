/**
 * Messages between the gateway and the gate-controller process (IPC over fork's channel).
 * Times are CLOCK_MONOTONIC milliseconds (process.hrtime), the same clock in both processes.
 */

export type OutputKind = 'gate' | 'lamp' | 'beacon' | 'watchdog';
export type GateMode = 'pulse' | 'hold' | 'hold-while-present';
export type InputRole =
  'photoEye' | 'laneConfirm' | 'estop' | 'running' | 'maintenance' | 'encoder';

/** One output as the controller drives it (gates, stack-light lamps, beacon, watchdog). */
export interface OutputSpec {
  id: string;
  kind: OutputKind;
  pin: number;
  activeLow: boolean;
  safeValue: 0 | 1;
  /** gates */
  mode: GateMode;
  pulseMs: number;
  maxHoldMs: number;
  presenceInput?: string;
  /** beacon: toggle period while on (0 = steady); watchdog: toggle period */
  periodMs: number;
}

export interface InputSpec {
  id: string;
  pin: number;
  role: InputRole;
  activeLow: boolean;
  debounceMs: number;
  reportIntervalMs: number;
  /** laneConfirm: the lane this photo-eye confirms */
  lane?: 'inspection' | 'exception' | 'pass';
}

export interface ControllerSettings {
  binding: 'simulated' | 'onoff';
  sysfsRoot: string;
  chipLabel?: string;
  outputs: OutputSpec[];
  inputs: InputSpec[];
  heartbeatIntervalMs: number;
  safeStateAfterMs: number;
  spinBeforeMs: number;
  maxLateMs: number;
  nice: number;
  /** send an `output` message for every write (tests, simulator, bench) */
  reportWrites: boolean;
}

export type ToController =
  | { t: 'configure'; settings: ControllerSettings }
  | { t: 'hb'; mono: number }
  | {
      t: 'fire';
      id: number;
      output: string;
      atMono: number;
      parcelId: string | null;
      /** jog: hold this long whatever the gate's mode */
      holdMs?: number;
      /** jog: fire on receipt (atMono is ignored, lateness is not checked) */
      immediate?: boolean;
    }
  | { t: 'cancel'; id: number }
  | { t: 'release'; output: string }
  | { t: 'set'; output: string; value: 0 | 1 }
  | { t: 'safe'; reason: string }
  | { t: 'arm' }
  /** simulated binding only: drive an input as its sensor would */
  | { t: 'simInput'; input: string; value: 0 | 1 }
  | { t: 'shutdown' };

export type ControllerState = 'starting' | 'armed' | 'safe';

export type FromController =
  | {
      t: 'ready';
      pid: number;
      binding: string;
      outputs: string[];
      inputs: Record<string, 0 | 1>;
      chip: string | null;
      nice: number | null;
    }
  | { t: 'hb'; mono: number; state: ControllerState }
  | {
      t: 'fired';
      id: number;
      output: string;
      parcelId: string | null;
      scheduledMono: number;
      actualMono: number;
      /** when the command reached the controller (after scheduledMono: the gateway sent it late) */
      receivedMono: number;
    }
  | { t: 'failed'; id: number; output: string; parcelId: string | null; error: string }
  | { t: 'cancelled'; id: number }
  | { t: 'released'; output: string; mono: number; reason: string }
  | { t: 'state'; state: ControllerState; reason: string; reasons: string[] }
  | { t: 'edge'; input: string; value: 0 | 1; mono: number }
  | { t: 'encoder'; input: string; count: number; mono: number }
  | { t: 'output'; output: string; value: 0 | 1; mono: number }
  | { t: 'error'; error: string; code?: string };
