import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import {
  ConfigValidator,
  loadConfigFile,
  parseYaml,
  resolveSecrets,
  type ConfigIssue,
  type SecretSources,
} from '../config/loader.js';
import { migrate } from '../config/migrations.js';
import type { GatewayConfig } from '../config/schema.js';
import { driverKindSchemas, type DriverKind } from '../drivers/kinds.js';
import type { Clock } from './clock.js';
import { remoteConfig } from '../config/remote-policy.js';
import type { ApplyOptions, ApplyResult, ConfigControl } from './config-control.js';
import { Gateway } from './gateway.js';

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
  private applying: Promise<ApplyResult> | null = null;
  private applyStartedMono: number | null = null;
  private readonly validator: ConfigValidator;
  private readonly log: Logger;

  constructor(private readonly o: GatewayHostOptions) {
    this.validator = new ConfigValidator(driverKindSchemas(o.driverKinds));
    this.log = o.log.child({ module: 'config' });
  }

  async start(): Promise<void> {
    const loaded = loadConfigFile(this.o.file, {
      driverKinds: driverKindSchemas(this.o.driverKinds),
      persistMigration: true,
      ...(this.o.secrets ? { secrets: this.o.secrets } : {}),
    });
    this.fileDoc = parseYaml(readFileSync(this.o.file, 'utf8'), this.o.file);
    await this.run(loaded.config);
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
    let migrated: Record<string, unknown>;
    try {
      migrated = migrate(structuredClone(doc as Record<string, unknown>)).doc;
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
    let result: ApplyResult;
    try {
      result = await this.applyInner(doc, actor, options);
    } finally {
      this.applyStartedMono = null;
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
    const oldConfig = this.config;
    writeFileSync(file, stringify(migrated), 'utf8');
    this.log.info({ actor, backupPath }, 'applying new configuration');
    await this.gateway?.stop();
    try {
      await this.run(resolved as GatewayConfig);
      this.fileDoc = migrated;
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
      copyFileSync(backupPath, file);
      this.fileDoc = oldDoc;
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
