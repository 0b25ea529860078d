import type { LineView } from '../http/line-view-model.js';
import type { SessionInfo } from './api.js';

export type { LineView };

/** What every page component gets from the shell. */
export interface PageProps {
  session: SessionInfo;
  /** the path after the page's own, split: #/devices/opcua-1 -> ['opcua-1'] */
  sub: string[];
  /** the live line picture (null until the first update) */
  line: LineView | null;
  navigate: (path: string) => void;
}
