import { CONFIG_VERSION } from './schema.js';

/**
 * Versioned configuration migrations (like zigbee2mqtt's settingsMigration). Each step takes the
 * raw YAML tree of version `from` and returns the tree of version `from + 1`. The loader backs the
 * file up before it writes a migrated version.
 */
export interface Migration {
  from: number;
  describe: string;
  migrate(doc: Record<string, unknown>): Record<string, unknown>;
}

export const MIGRATIONS: Migration[] = [
  {
    from: 0,
    describe: 'v0 -> v1: line.speedMps (m/s) becomes line.beltSpeedMmPerS; mqtt becomes uplink',
    migrate(doc) {
      const out: Record<string, unknown> = { ...doc, version: 1 };
      const line = isRecord(doc.line) ? { ...doc.line } : undefined;
      if (line && typeof line.speedMps === 'number') {
        line.beltSpeedMmPerS = line.speedMps * 1000;
        delete line.speedMps;
      }
      if (line) out.line = line;
      if (isRecord(doc.mqtt) && out.uplink === undefined) {
        out.uplink = doc.mqtt;
        delete out.mqtt;
      }
      return out;
    },
  },
];

export interface MigrationResult {
  doc: Record<string, unknown>;
  fromVersion: number;
  applied: string[];
}

export function readVersion(doc: Record<string, unknown>): number | null {
  if (doc.version === undefined) return 0;
  return typeof doc.version === 'number' && Number.isInteger(doc.version) ? doc.version : null;
}

/** Apply every step from the document's version up to CONFIG_VERSION. */
export function migrate(doc: Record<string, unknown>): MigrationResult {
  const fromVersion = readVersion(doc);
  if (fromVersion === null) throw new Error('version must be an integer');
  if (fromVersion > CONFIG_VERSION) {
    throw new Error(
      `config version ${fromVersion} is newer than this gateway understands (${CONFIG_VERSION})`,
    );
  }
  let current = doc;
  const applied: string[] = [];
  for (let v = fromVersion; v < CONFIG_VERSION; v++) {
    const step = MIGRATIONS.find((m) => m.from === v);
    if (!step) throw new Error(`no migration from version ${v}`);
    current = step.migrate(current);
    applied.push(step.describe);
  }
  return { doc: current, fromVersion, applied };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
