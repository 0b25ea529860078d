import type { LineConfig } from './schema.js';
import { handOffIssues, sharedDecisionPoint, type PlcLane } from './sorter-checks.js';
import { rulesConfigIssues } from '../edge/engine/rules.js';
import type { RulesConfig } from '../edge/engine/types.js';

/**
 * Cross-field checks of the `line:` section (called by config/loader semanticIssues). A config
 * that could send a suspect, targeted or unknown parcel to pass is rejected, and so is geometry
 * that cannot give the CT its configured verdict time at the maximum belt speed.
 */
export interface LineIssue {
  path: string;
  message: string;
}

export function lineConfigIssues(line: LineConfig, gpioOutputs: ReadonlySet<string>): LineIssue[] {
  const issues: LineIssue[] = [];
  const diverted = [
    { path: '/line/lanes/pass', lane: line.lanes.pass, name: 'pass' },
    { path: '/line/lanes/exception', lane: line.lanes.exception, name: 'exception' },
    ...line.outlets.map((o, i) => ({
      path: `/line/outlets/${i}`,
      lane: o,
      name: `outlet ${o.id}`,
    })),
  ];
  const gatesSeen = new Map<string, { name: string; lane: PlcLane }>();
  const inspectionByPlc = line.lanes.inspection.gateMode === 'plc';
  for (const { path, lane, name } of diverted) {
    const gate = lane.gate;
    if (!gate && lane.gateMode === 'plc') {
      // a PLC lane needs no gate id of its own (the sorter's decision point)
    } else if (!gate) {
      issues.push({
        path: `${path}/gate`,
        message: `the ${name} lane needs a gate: only the inspection lane may be straight through`,
      });
      continue;
    }
    const other = gate ? gatesSeen.get(gate) : undefined;
    // one sorter decision point may serve many destinations (sorter-checks.ts)
    if (gate && other && !sharedDecisionPoint(other.lane, lane))
      issues.push({
        path: `${path}/gate`,
        message: `fail-safe: gate '${gate}' diverts both ${other.name} and ${name}`,
      });
    if (gate) gatesSeen.set(gate, { name, lane });
    if (gate && (lane.gateMode ?? 'gpio') === 'gpio') {
      if (!gpioOutputs.has(gate))
        issues.push({
          path: `${path}/gate`,
          message: `no gate output '${gate}' in /gates/outputs`,
        });
    } else if (lane.gateMode === 'plc' && !lane.plc) {
      issues.push({
        path: `${path}/plc`,
        message: `gateMode plc needs plc: { plcId, destination } (the PLC's destination code of this lane)`,
      });
    }
    // a sorter's inspection destination may share the decision point of its other lanes
    const atInspection = inspectionByPlc && lane.gateMode === 'plc';
    if (
      atInspection
        ? lane.positionMm > line.lanes.inspection.positionMm
        : lane.positionMm >= line.lanes.inspection.positionMm
    )
      issues.push({
        path: '/line/lanes/inspection/positionMm',
        message: `the straight-through inspection lane must be at the end of the line, after every diverter (${name} at ${lane.positionMm} mm)`,
      });
  }
  if (line.lanes.inspection.gate !== undefined && !inspectionByPlc) {
    issues.push({
      path: '/line/lanes/inspection/gate',
      message:
        'fail-safe: the inspection lane must be the straight-through lane (no gate), so a gate that does not fire never sends a parcel to pass',
    });
  }
  // a PLC decides every parcel it sees, inspection included (sorter-checks.ts)
  issues.push(...handOffIssues(line));
  const outletIds = new Set<string>();
  line.outlets.forEach((o, i) => {
    if (['pass', 'exception', 'inspection'].includes(o.id) || outletIds.has(o.id))
      issues.push({ path: `/line/outlets/${i}/id`, message: `outlet id '${o.id}' is taken` });
    outletIds.add(o.id);
  });

  // rules: the safety rules cannot be removed or demoted
  const rules = line.rules as RulesConfig;
  issues.push(...rulesConfigIssues(rules));
  rules.customsModes?.forEach((c, i) => {
    if (c.outlet && c.outlet !== 'pass' && !outletIds.has(c.outlet))
      issues.push({
        path: `/line/rules/customsModes/${i}/outlet`,
        message: `no outlet '${c.outlet}' in /line/outlets`,
      });
  });
  if (rules.weight && !line.scale)
    issues.push({ path: '/line/rules/weight', message: 'a weight rule needs /line/scale' });
  if (line.tracking.mode === 'encoder' && (!line.tracking.encoderId || !line.tracking.mmPerCount))
    issues.push({
      path: '/line/tracking',
      message: 'encoder tracking needs encoderId and mmPerCount',
    });

  // geometry and time at the maximum speed
  const firstGate = Math.min(...diverted.map((d) => d.lane.positionMm));
  const { scanner, ct, decision } = line;
  const len = line.defaultParcelLengthMm;
  const windowEnd = (d: { positionMm: number; toleranceMm: number }) =>
    d.positionMm + len + d.toleranceMm;
  if (windowEnd(scanner) >= firstGate) {
    issues.push({
      path: '/line/scanner/positionMm',
      message: `scanner window ends at ${windowEnd(scanner)} mm, not before the first diverter at ${firstGate} mm`,
    });
  }
  if (line.scale && windowEnd(line.scale) >= firstGate)
    issues.push({
      path: '/line/scale/positionMm',
      message: `scale window ends at ${windowEnd(line.scale)} mm, not before the first diverter at ${firstGate} mm`,
    });
  const vmax = line.tracking.maxSpeedMmPerS ?? line.beltSpeedMmPerS;
  if (vmax < line.beltSpeedMmPerS)
    issues.push({
      path: '/line/tracking/maxSpeedMmPerS',
      message: `maximum speed ${vmax} mm/s is below the nominal ${line.beltSpeedMmPerS} mm/s`,
    });
  // the scan is complete when the parcel has left the tunnel; the verdict must be in by then + budget
  const budgetMs =
    ((firstGate - ct.positionMm - len) / Math.max(vmax, line.beltSpeedMmPerS)) * 1000 -
    decision.actuationLeadMs -
    decision.marginMs;
  if (budgetMs <= 0 || budgetMs < ct.verdictTimeMs) {
    issues.push({
      path: '/line/ct/positionMm',
      message: `no time for a CT verdict: CT at ${ct.positionMm} mm, first diverter at ${firstGate} mm, a ${len} mm parcel at ${Math.max(vmax, line.beltSpeedMmPerS)} mm/s, lead ${decision.actuationLeadMs} ms + margin ${decision.marginMs} ms leave ${Math.round(budgetMs)} ms, the CT needs ${ct.verdictTimeMs} ms`,
    });
  }
  return issues;
}
