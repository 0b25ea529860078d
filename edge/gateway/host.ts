import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import {
  ConfigValidator,
  loadConfigFile,
  parseYaml,
  resolveSecrets,
  type ConfigIssue,
  type LoadedConfig,
  type SecretSources,
} from '../../config/loader.js';
import { migrate } from '../../config/migrations.js';
import { ConfigSchema, type GatewayConfig } from '../../config/schema.js';
import { driverKindSchemas, type DriverKind } from '../../drivers/kinds.js';
import type { Clock } from '../clock.js';
import { mergeIntoYaml, restoreRedacted } from '../../config/yaml-file.js';
import { remoteConfig } from '../../config/remote-policy.js';
import type { ApplyOptions, ApplyProgress, ApplyResult, ConfigControl } from './config-control.js';
import { configVersions, configVersionText } from './config-history.js';
import { Gateway } from './gateway.js';
import { createHttpState, type HttpState } from '../http/sessions.js';
import type { LogTail } from '../log-tail.js';

export type { ApplyResult, ConfigControl } from './config-control.js';

/**
 * Owns the running gateway and its configuration file. A new configuration (HTTP PUT /api/config
 * or the platform's put-config command) is validated with every error listed; an invalid one is
 * rejected and the running config kept. A valid one is written after a backup and the gateway
 * restarted with it; if that start fails, the previous file is restored and the previous
 * configuration started again (rolled back). Every attempt is audited as an event.
 */

export interface GatewayHostOptions {
  file: string;
  driverKinds: readonly DriverKind[];
  log: Logger;
  clock: Clock;
  version: string;
  secrets?: SecretSources;
  /** the last log lines, for the console's log view */
  logTail?: LogTail;
  /** the validator main.ts already compiled for these kinds (compiled once: slow on a Pi) */
  validator?: ConfigValidator;
  /** replaces `new Gateway` (tests) */
  createGateway?: (config: GatewayConfig, control: ConfigControl) => Gateway;
}

/** Directories a remotely sent configuration may name in ${file:PATH}. */
export function remoteSecretRoots(configFile: string): string[] {
  return [dirname(resolve(configFile)), '/run/secrets', '/etc/customs-edge'];
}

export class GatewayHost implements ConfigControl {
  gateway: Gateway | null = null;
  config: GatewayConfig | null = null;
  private fileDoc: Record<string, unknown> = {};
  private fileText = '';
  private phase: ApplyProgress['phase'] = 'idle';
  private phaseActor: string | null = null;
  /** console sessions survive the HTTP restart a configuration change causes */
  httpState: HttpState = createHttpState();
  private applying: Promise<ApplyResult> | null = null;
  private applyStartedMono: number | null = null;
  private validatorValue: ConfigValidator | null;
  private readonly log: Logger;

  constructor(private readonly o: GatewayHostOptions) {
    this.validatorValue = o.validator ?? null;
    this.log = o.log.child({ module: 'config' });
  }

  private get validator(): ConfigValidator {
    this.validatorValue ??= new ConfigValidator(driverKindSchemas(this.o.driverKinds));
    return this.validatorValue;
  }

  /**
   * Start with the configuration file: `loaded` is the file as the composition root already
   * loaded it (read once at start); without it the file is loaded here.
   */
  async start(loaded?: LoadedConfig): Promise<void> {
    const initial =
      loaded ??
      loadConfigFile(this.o.file, {
        driverKinds: driverKindSchemas(this.o.driverKinds),
        validator: this.validator,
        persistMigration: true,
        ...(this.o.secrets ? { secrets: this.o.secrets } : {}),
      });
    this.httpState = createHttpState({
      sessions: { idleMs: initial.config.http.sessionIdleMinutes * 60_000 },
    });
    // the text keeps the file's comments for edits (config/yaml-file.ts)
    this.fileText = readFileSync(this.o.file, 'utf8');
    this.fileDoc = structuredClone(initial.document);
    await this.run(initial.config);
  }

  private async run(config: GatewayConfig): Promise<void> {
    const gateway = this.o.createGateway
      ? this.o.createGateway(config, this)
      : new Gateway({
          config,
          log: this.o.log,
          clock: this.o.clock,
          version: this.o.version,
          configControl: this,
          httpState: this.httpState,
          ...(this.o.logTail ? { logTail: this.o.logTail } : {}),
        });
    this.gateway = gateway;
    this.config = config;
    try {
      await gateway.start();
    } catch (err) {
      await gateway.stop().catch(() => undefined);
      throw err;
    }
  }

  current(): Record<string, unknown> {
    return structuredClone(this.fileDoc);
  }

  currentText(): string {
    return this.fileText;
  }

  progress(): ApplyProgress {
    return { phase: this.phase, actor: this.phaseActor, forMs: this.applyingForMs() };
  }

  history() {
    return configVersions(this.o.file);
  }

  versionText(id: string): string | null {
    return configVersionText(this.o.file, id);
  }

  schema() {
    return {
      root: ConfigSchema,
      drivers: Object.fromEntries(driverKindSchemas(this.o.driverKinds)),
    };
  }

  lastResult: ApplyResult | null = null;

  /** Every problem of a candidate document (migrated, secrets resolved), none thrown. */
  validate(doc: unknown, options: ApplyOptions = {}): ConfigIssue[] {
    return this.prepare(doc, options).issues;
  }

  private prepare(
    doc: unknown,
    options: ApplyOptions,
  ): {
    resolved: unknown;
    migrated: Record<string, unknown> | null;
    issues: ConfigIssue[];
  } {
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      return {
        resolved: null,
        migrated: null,
        issues: [{ path: '/', message: 'must be an object' }],
      };
    }
    // '[redacted]' (what the API shows for a secret) means: keep the file's secret there
    const restored = restoreRedacted(doc, this.fileDoc);
    if (restored.issues.length > 0)
      return { resolved: null, migrated: null, issues: restored.issues };
    let migrated: Record<string, unknown>;
    try {
      migrated = migrate(structuredClone(restored.doc as Record<string, unknown>)).doc;
    } catch (err) {
      return {
        resolved: null,
        migrated: null,
        issues: [{ path: '/version', message: (err as Error).message }],
      };
    }
    // from the platform: on-site-only parts kept from the local file, no new secret references
    const remote = options.remote ? remoteConfig(this.fileDoc, migrated) : null;
    if (remote) migrated = remote.doc;
    // a remote configuration reads secret files only from where the device keeps them
    const { doc: resolved, issues } = resolveSecrets(structuredClone(migrated), this.o.secrets, {
      fileRoots: remoteSecretRoots(this.o.file),
    });
    return {
      resolved,
      migrated,
      issues: [...(remote?.issues ?? []), ...issues, ...this.validator.check(resolved)],
    };
  }

  apply(doc: unknown, actor: string, options: ApplyOptions = {}): Promise<ApplyResult> {
    // one change at a time: a second request waits for the first
    const previous = this.applying ?? Promise.resolve(null);
    // a failed change (its caller got the rejection) must not block the ones queued after it
    const next = previous.catch(() => null).then(() => this.applyNow(doc, actor, options));
    const settled = next.finally(() => {
      if (this.applying === settled) this.applying = null;
    });
    this.applying = settled;
    return next;
  }

  /** How long the configuration change in progress has been running (0: none). */
  applyingForMs(): number {
    return this.applyStartedMono === null ? 0 : this.o.clock.monoMs() - this.applyStartedMono;
  }

  private async applyNow(doc: unknown, actor: string, options: ApplyOptions): Promise<ApplyResult> {
    this.applyStartedMono = this.o.clock.monoMs();
    this.phase = 'validating';
    this.phaseActor = actor;
    let result: ApplyResult;
    try {
      result = await this.applyInner(doc, actor, options);
    } finally {
      this.applyStartedMono = null;
      this.phase = 'idle';
      this.phaseActor = null;
    }
    this.lastResult = { ...result, at: new Date(this.o.clock.wallMs()).toISOString(), actor };
    return result;
  }

  private async applyInner(
    doc: unknown,
    actor: string,
    options: ApplyOptions,
  ): Promise<ApplyResult> {
    const { resolved, migrated, issues } = this.prepare(doc, options);
    if (issues.length > 0 || !migrated) {
      this.log.warn(
        { actor, issues: issues.length },
        'configuration rejected; running configuration kept',
      );
      this.audit(actor, 'rejected', { issues });
      return {
        ok: false,
        applied: false,
        rolledBack: false,
        issues,
        message: `configuration rejected (${issues.length} errors); running configuration kept`,
        backupPath: null,
      };
    }
    const file = this.o.file;
    const stamp = new Date(this.o.clock.wallMs()).toISOString().replace(/[:.]/g, '-');
    const backupPath = `${file}.${stamp}.bak`;
    if (existsSync(file)) copyFileSync(file, backupPath);
    const oldDoc = this.fileDoc;
    const oldText = this.fileText;
    const oldConfig = this.config;
    // the text as edited when it is exactly this document, else the change merged into the
    // file (comments and layout kept)
    const newText =
      options.text !== undefined &&
      JSON.stringify(parseYaml(options.text, 'edit')) === JSON.stringify(migrated)
        ? options.text
        : mergeIntoYaml(oldText, migrated);
    this.phase = 'writing';
    writeFileSync(file, newText, 'utf8');
    this.log.info({ actor, backupPath }, 'applying new configuration');
    this.phase = 'stopping';
    await this.gateway?.stop();
    this.phase = 'starting';
    try {
      await this.run(resolved as GatewayConfig);
      this.fileDoc = migrated;
      this.fileText = newText;
      this.audit(actor, 'applied', { backupPath });
      return {
        ok: true,
        applied: true,
        rolledBack: false,
        issues: [],
        message: 'configuration applied',
        backupPath,
      };
    } catch (err) {
      this.log.error({ err, actor }, 'new configuration failed to start; rolling back');
      this.phase = 'rolling-back';
      copyFileSync(backupPath, file);
      this.fileDoc = oldDoc;
      this.fileText = oldText;
      if (oldConfig) await this.run(oldConfig);
      const message = `new configuration failed to start (${(err as Error).message}); previous configuration restored`;
      this.audit(actor, 'rolled-back', { backupPath, error: (err as Error).message });
      return {
        ok: false,
        applied: false,
        rolledBack: true,
        issues: [{ path: '/', message: (err as Error).message }],
        message,
        backupPath,
      };
    }
  }

  private audit(actor: string, result: string, details: Record<string, unknown>): void {
    this.gateway?.recordAudit({ action: 'config.put', actor, result, ...details });
  }

  async stop(): Promise<void> {
    await this.applying?.catch(() => undefined);
    await this.gateway?.stop();
  }
}
