import type { GateOutputConfig } from '../../config/schema.js';

/**
 * Messages between the gateway and the gate-controller process (IPC over fork's channel).
 * Times are CLOCK_MONOTONIC milliseconds, the same clock in both processes.
 */

export interface ControllerSettings {
  binding: 'simulated' | 'onoff';
  outputs: GateOutputConfig[];
  heartbeatIntervalMs: number;
  safeStateAfterMs: number;
  spinBeforeMs: number;
}

export type ToController =
  | { t: 'configure'; settings: ControllerSettings }
  | { t: 'hb'; mono: number }
  | { t: 'fire'; id: number; output: string; atMono: number; parcelId: string | null }
  | { t: 'cancel'; id: number }
  | { t: 'safe'; reason: string }
  | { t: 'shutdown' };

export type ControllerState = 'starting' | 'armed' | 'safe';

export type FromController =
  | { t: 'ready'; pid: number; binding: string; outputs: string[] }
  | { t: 'hb'; mono: number; state: ControllerState }
  | {
      t: 'fired';
      id: number;
      output: string;
      parcelId: string | null;
      scheduledMono: number;
      actualMono: number;
    }
  | { t: 'failed'; id: number; output: string; parcelId: string | null; error: string }
  | { t: 'state'; state: ControllerState; reason: string }
  | { t: 'edge'; input: string; value: 0 | 1; mono: number }
  | { t: 'error'; error: string };
