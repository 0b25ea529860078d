import type { Account } from './owner.js';
import type { GatewayPaths, ToolConfig } from './config-file.js';

/** What every `customs-edge check` part returns and gets (edge/cli/check.ts runs them). */

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  status: CheckStatus;
  message: string;
  fix?: string;
}

export interface CheckContext {
  tool: ToolConfig;
  paths: GatewayPaths;
  /** the account the unit runs as (null when it does not exist here) */
  account: Account | null;
  /** '/' on a device; tests point it at a fake tree */
  sysRoot: string;
  now: Date;
  timeoutMs: number;
  offline: boolean;
  deep: boolean;
}

export function result(
  id: string,
  status: CheckStatus,
  message: string,
  fix?: string,
): CheckResult {
  return fix ? { id, status, message, fix } : { id, status, message };
}
