import type { LineConfig } from './line-schema.js';

/**
 * Cross-field checks of sorter PLC lanes (gateMode plc), called by the line checks and the
 * loader: one sorter decision point may serve many destinations; with PLC lanes every parcel is
 * handed off, inspection included; each lane's PLC names an OPC UA server with a decision output,
 * and its destination code fits that output's data type.
 */
export interface SorterIssue {
  path: string;
  message: string;
}

export type PlcLane = LineConfig['lanes']['pass'];

/** Lanes of one sorter PLC at one position share its decision point. */
export function sharedDecisionPoint(a: PlcLane, b: PlcLane): boolean {
  return (
    a.gateMode === 'plc' &&
    b.gateMode === 'plc' &&
    a.plc !== undefined &&
    a.plc.plcId === b.plc?.plcId &&
    a.positionMm === b.positionMm
  );
}

function lanesOf(line: LineConfig): [string, PlcLane][] {
  return [
    ['/line/lanes/inspection', line.lanes.inspection],
    ['/line/lanes/exception', line.lanes.exception],
    ['/line/lanes/pass', line.lanes.pass],
    ...line.outlets.map((o, i): [string, PlcLane] => [`/line/outlets/${i}`, o]),
  ];
}

/**
 * handOffEveryParcel (default): with any PLC lane the inspection lane is a PLC destination too,
 * and every lane at or after the first PLC decision point is decided by the PLC, so no parcel
 * reaches the PLC without a destination and safety never rests on its default destination.
 */
export function handOffIssues(line: LineConfig): SorterIssue[] {
  const lanes = lanesOf(line);
  const plcLanes = lanes.filter(([, l]) => l.gateMode === 'plc');
  if (plcLanes.length === 0 || !line.handOffEveryParcel) return [];
  const issues: SorterIssue[] = [];
  if (line.lanes.inspection.gateMode !== 'plc')
    issues.push({
      path: '/line/lanes/inspection',
      message:
        'handOffEveryParcel: with PLC lanes the inspection lane needs gateMode plc and plc: { plcId, destination }, so every parcel is handed to the PLC and none is left to its default destination (or set handOffEveryParcel: false where the PLC sends a parcel without a destination straight on to inspection)',
    });
  const first = Math.min(...plcLanes.map(([, l]) => l.positionMm));
  for (const [path, l] of lanes) {
    if (l.gateMode !== 'plc' && l.gate !== undefined && l.positionMm >= first)
      issues.push({
        path: `${path}/gateMode`,
        message: `handOffEveryParcel: a GPIO gate at or after the PLC decision point (${first} mm) would see parcels the PLC decided`,
      });
  }
  return issues;
}

const RANGES: Record<string, [number, number]> = {
  Int16: [-32_768, 32_767],
  UInt16: [0, 65_535],
  Int32: [-2_147_483_648, 2_147_483_647],
  UInt32: [0, 4_294_967_295],
};

interface DecisionOutput {
  kind?: unknown;
  name?: unknown;
  methodId?: unknown;
  destinationType?: unknown;
  keyBy?: unknown;
}
interface ServerEntry {
  id?: unknown;
  outputs?: unknown;
  signals?: unknown;
}

/** Each PLC lane's plcId names an OPC UA server with a decision output its destination fits. */
export function plcLaneIssues(
  line: LineConfig,
  drivers: readonly Record<string, unknown>[],
): SorterIssue[] {
  const servers = new Map<string, ServerEntry>();
  for (const d of drivers) {
    if (d.kind !== 'opcua' || d.enabled === false || !Array.isArray(d.servers)) continue;
    for (const s of d.servers as ServerEntry[]) if (typeof s.id === 'string') servers.set(s.id, s);
  }
  const issues: SorterIssue[] = [];
  for (const [path, lane] of lanesOf(line)) {
    if (lane.gateMode !== 'plc' || !lane.plc) continue;
    const server = servers.get(lane.plc.plcId);
    const outputs = (Array.isArray(server?.outputs) ? server.outputs : []) as DecisionOutput[];
    const decision = outputs.find((o) => o.kind === 'decision');
    if (!server || !decision) {
      issues.push({
        path: `${path}/plc/plcId`,
        message: `no OPC UA server '${lane.plc.plcId}' with a decision output (kind: decision) in /drivers`,
      });
      continue;
    }
    const dest = lane.plc.destination;
    const type = typeof decision.destinationType === 'string' ? decision.destinationType : null;
    const range = type ? RANGES[type] : undefined;
    if (range && (typeof dest !== 'number' || dest < range[0] || dest > range[1]))
      issues.push({
        path: `${path}/plc/destination`,
        message: `destination ${JSON.stringify(dest)} does not fit the PLC's ${type} (${range[0]}..${range[1]})`,
      });
    if (!type && !decision.methodId && typeof dest !== 'number')
      issues.push({
        path: `${path}/plc/destination`,
        message: `destination ${JSON.stringify(dest)} is not a number: set destinationType: String on the decision output for a PLC that takes strings`,
      });
    const signals = (Array.isArray(server.signals) ? server.signals : []) as { kind?: unknown }[];
    if (decision.keyBy === 'plcTrackingId' && !signals.some((s) => s.kind === 'trackingId'))
      issues.push({
        path: `${path}/plc/plcId`,
        message: `the decision output of '${lane.plc.plcId}' is keyed by plcTrackingId, but the server has no trackingId signal (the PLC's id at induction)`,
      });
  }
  return issues;
}
