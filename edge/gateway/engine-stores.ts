import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { SnapshotStore } from './snapshot-store.js';
import { TargetingStore } from '../targeting/targeting-store.js';

/** The engine runner's persistent state, both in one SQLite file (`line.stateFile`). */
export interface EngineStores {
  targeting: TargetingStore;
  snapshots: SnapshotStore;
}

export function openEngineStores(file: string, log: Logger, clock: Clock): EngineStores {
  const targeting = new TargetingStore({
    file,
    log: log.child({ module: 'targeting' }),
    wallMs: clock.wallMs,
  });
  try {
    return { targeting, snapshots: new SnapshotStore(file) };
  } catch (err) {
    targeting.close();
    throw err;
  }
}
