import type { OversizeHealth } from './oversize.js';

/** The uplink's state, counters and health (shared by connection.ts and publish-window.ts). */

export type UplinkState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

export interface UplinkHealth extends OversizeHealth {
  state: UplinkState;
  url: string;
  protocolVersion: 4 | 5;
  connects: number;
  disconnects: number;
  inFlight: number;
  window: number;
  receiveMaximum: number | null;
  maxInFlightSeen: number;
  published: number;
  acked: number;
  timeouts: number;
  replayed: number;
  replayActive: boolean;
  lastError: string | null;
  nextRetryInMs: number | null;
}

/** Counters and the last error, written by the connection and the publish window. */
export interface UplinkStats {
  connects: number;
  disconnects: number;
  published: number;
  acked: number;
  timeouts: number;
  replayed: number;
  maxInFlightSeen: number;
  lastError: string | null;
}

export function newUplinkStats(): UplinkStats {
  return {
    connects: 0,
    disconnects: 0,
    published: 0,
    acked: 0,
    timeouts: 0,
    replayed: 0,
    maxInFlightSeen: 0,
    lastError: null,
  };
}
