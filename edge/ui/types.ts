import type { SessionInfo } from './api.js';

/** The line picture the gateway streams (edge/http/routes/line-routes.ts LineView). */
export interface LineView {
  lineId: string;
  state: string;
  reason: string | null;
  condition: {
    failSafe: string | null;
    commError: string | null;
    alarm: string | null;
    unknown: string | null;
  };
  lamps: Record<string, boolean> | null;
  speedMmPerS: number;
  geometry: {
    scannerMm: number;
    ctMm: number;
    lanes: { id: string; lane: string; positionMm: number; gate: string | null }[];
    endMm: number;
  };
  parcels: {
    id: string;
    code: string | null;
    leadMm: number;
    lengthMm: number;
    verdict: string | null;
    lane: string | null;
    outlet: string | null;
    ruleId: string | null;
    reason: string | null;
  }[];
  tracked: number;
  decisions: number;
  totals: Record<string, number>;
  alarms: { type: string; time: string; reason: string | null }[];
  uplink: string | null;
}

/** What every page component gets from the shell. */
export interface PageProps {
  session: SessionInfo;
  /** the path after the page's own, split: #/devices/opcua-1 -> ['opcua-1'] */
  sub: string[];
  /** the live line picture (null until the first update) */
  line: LineView | null;
  navigate: (path: string) => void;
}
