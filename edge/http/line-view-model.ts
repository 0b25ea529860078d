/**
 * The belt picture the gateway streams on GET /api/line(/stream) (edge/http/routes/line-routes.ts)
 * and the console draws (edge/ui). Types only, no imports: the browser bundle shares it.
 */

export interface LineView {
  lineId: string;
  /** running | stopped | estop | jam (the engine's view) */
  state: string;
  /** why the line is not simply running: E-stop, CT down, life bit lost, fail-safe... */
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
