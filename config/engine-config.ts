import type { LineConfig } from './schema.js';
import type { EngineConfig, LaneGeometry } from '../edge/engine/types.js';

/** The engine's view of the `line:` configuration section. */
export function engineConfigFrom(line: LineConfig): EngineConfig {
  const lane = (l: LineConfig['lanes']['pass']): LaneGeometry => ({
    positionMm: l.positionMm,
    ...(l.gate ? { gateId: l.gate } : {}),
    ...(l.gateMode ? { gateMode: l.gateMode } : {}),
    ...(l.plc ? { plc: l.plc } : {}),
    ...(l.confirmPhotoEye ? { confirmPhotoEyeId: l.confirmPhotoEye } : {}),
  });
  return {
    lineId: line.id,
    beltSpeedMmPerS: line.beltSpeedMmPerS,
    inductionPhotoEyeId: line.inductionPhotoEye,
    defaultParcelLengthMm: line.defaultParcelLengthMm,
    scanner: line.scanner,
    ct: line.ct,
    ...(line.scale ? { scale: line.scale } : {}),
    ...(line.plcTracking ? { plcTracking: line.plcTracking } : {}),
    decision: line.decision,
    lanes: {
      inspection: lane(line.lanes.inspection),
      exception: lane(line.lanes.exception),
      pass: lane(line.lanes.pass),
    },
    outlets: (line.outlets ?? []).map((o) => ({ ...lane(o), id: o.id, gateId: o.gate ?? o.id })),
    ...(line.tracking ? { tracking: line.tracking } : {}),
    ...(line.rules ? { rules: line.rules } : {}),
    ...(line.jamTimeoutMs !== undefined ? { jamTimeoutMs: line.jamTimeoutMs } : {}),
    ...(line.divertConfirmWindowMm !== undefined
      ? { divertConfirmWindowMm: line.divertConfirmWindowMm }
      : {}),
    ...(line.gateCommandLeadMs !== undefined ? { gateCommandLeadMs: line.gateCommandLeadMs } : {}),
  };
}
