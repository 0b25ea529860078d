/**
 * The PLC hand-off of the engine's decisions lives in edge/sorter/sorter-hand-off.ts (keys,
 * destination codes, acknowledgement, retries, health); these names are kept for the gateway.
 */
export {
  SorterHandOff as PlcHandOff,
  decisionOutputs,
  type SorterHandOffOptions as PlcHandOffOptions,
} from './sorter/sorter-hand-off.js';
