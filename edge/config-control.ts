import type { ConfigIssue } from '../config/loader.js';

/** Reading, validating and applying the gateway configuration at run time. */
export interface ApplyResult {
  ok: boolean;
  /** the new configuration is running */
  applied: boolean;
  /** it failed to start and the previous one was restored */
  rolledBack: boolean;
  issues: ConfigIssue[];
  message: string;
  backupPath: string | null;
  at?: string;
  actor?: string;
}

export interface ConfigControl {
  /** the outcome of the last apply (kept across the restart it causes) */
  lastResult: ApplyResult | null;
  /** the file as written (secret references unresolved) */
  current(): Record<string, unknown>;
  validate(doc: unknown, options?: ApplyOptions): ConfigIssue[];
  apply(doc: unknown, actor: string, options?: ApplyOptions): Promise<ApplyResult>;
}

export interface ApplyOptions {
  /** sent by the platform: on-site-only parts are kept from the local file (config/remote-policy.ts) */
  remote?: boolean;
}
