import type { ConfigIssue } from '../../config/secrets.js';

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

/** Where a configuration change is (the console shows it while the pipeline restarts). */
export interface ApplyProgress {
  phase: 'idle' | 'validating' | 'writing' | 'stopping' | 'starting' | 'rolling-back';
  actor: string | null;
  /** ms since the change started (0 when idle) */
  forMs: number;
}

/** A saved earlier version of the file (the backup written before each change). */
export interface ConfigVersion {
  id: string;
  /** when it was replaced, ISO */
  at: string;
  bytes: number;
}

export interface ApplyOptions {
  /** the YAML to write (comments kept); without it the change is merged into the file */
  text?: string;
  /** sent by the platform: on-site-only parts are kept from the local file (config/remote-policy.ts) */
  remote?: boolean;
}

export interface ConfigControl {
  /** the outcome of the last apply (kept across the restart it causes) */
  lastResult: ApplyResult | null;
  /** the file as written (secret references unresolved) */
  current(): Record<string, unknown>;
  validate(doc: unknown, options?: ApplyOptions): ConfigIssue[];
  apply(doc: unknown, actor: string, options?: ApplyOptions): Promise<ApplyResult>;
  /** the file's text as written (comments, references), secrets included: never send it as is */
  currentText?(): string;
  progress?(): ApplyProgress;
  history?(): ConfigVersion[];
  versionText?(id: string): string | null;
  /** JSON Schema of the file (`root`) and of each driver kind (`drivers`), for editors */
  schema?(): { root: unknown; drivers: Record<string, unknown> };
}
