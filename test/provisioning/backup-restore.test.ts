import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { connectAsync } from 'mqtt';
import { parseDocument } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../edge/cli/backup.js';
import { readManifest } from '../../edge/cli/backup-manifest.js';
import { memoryIo } from '../../edge/cli/io.js';
import { runCli } from '../../edge/cli/main.js';
import { freePort } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

/**
 * A dead SD card: the gateway (its own process, a fast simulated line) writes events while
 * `backup` copies its databases online; the backup is restored into new folders. Every event
 * the platform had received before the backup started (published only after its commit) is in
 * the restored outbox, which passes integrity_check, holds a gapless sequence (one consistent
 * snapshot) and continues numbering far above it. A backup with a changed byte is refused.
 */
const root = new URL('../../', import.meta.url).pathname;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Published {
  id: string;
  seq: number;
}

describe('backup while the line writes, restore into new folders', () => {
  it('keeps every acknowledged event, passes integrity_check, refuses a damaged backup', async () => {
    const base = mkdtempSync(join(tmpdir(), 'edge-backup-'));
    dirs.push(base);
    const configDir = join(base, 'etc');
    const configFile = join(configDir, 'gateway.yaml');
    const init = memoryIo({ stdin: 'backup-test-pass\n' });
    const initCode = await runCli(
      [
        'init',
        ...['--site', 'site-b', '--gateway', 'gw-b', '--config-dir', configDir],
        ...['--data-dir', join(base, 'data'), '--password-stdin'],
      ],
      init,
    );
    expect(init.errors).toEqual([]);
    expect(initCode).toBe(0);
    // a fast line, free ports
    const doc = parseDocument(readFileSync(configFile, 'utf8'));
    const brokerPort = await freePort();
    doc.setIn(['http', 'port'], await freePort());
    doc.setIn(['embeddedBroker', 'port'], brokerPort);
    doc.setIn(['line', 'beltSpeedMmPerS'], 5000);
    // the late-fire bound (config/safety-bounds.ts): 20 ms late at 5 m/s is line.minGapMm's 100 mm
    doc.setIn(['gates', 'maxLateMs'], 20);
    doc.setIn(['drivers', 0, 'parcelsPerMinute'], 1200);
    doc.setIn(['drivers', 0, 'parcelLengthMm'], doc.createNode({ min: 100, max: 150 }));
    doc.setIn(['drivers', 0, 'verdictDelayMs'], doc.createNode({ min: 20, max: 300 }));
    writeFileSync(configFile, doc.toString());

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'edge/main.ts'), '--config', configFile],
      { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const received: Published[] = [];
    try {
      const subscriber = await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}`);
          try {
            return await connectAsync(`mqtt://127.0.0.1:${brokerPort}`, {
              clientId: 'platform-backup-test',
              reconnectPeriod: 0,
            });
          } catch {
            return null;
          }
        },
        { timeoutMs: 60_000, what: 'the embedded broker' },
      );
      subscriber.on('message', (topic, payload) => {
        if (!topic.includes('/events/')) return;
        const e = JSON.parse(payload.toString()) as Published;
        received.push({ id: e.id, seq: e.seq });
      });
      await subscriber.subscribeAsync('customs/site-b/gw-b/events/#', { qos: 1 });
      await waitFor(() => received.length >= 150, { timeoutMs: 60_000, what: '150 events' });

      // A reader holding a snapshot keeps SQLite from checkpointing later commits into the main
      // file: from here on, new events live only in the WAL, as on a busy line between
      // checkpoints. A copy that ignores the WAL would lose them; the online backup may not.
      const reader = new Database(join(base, 'data/outbox.sqlite'), { readonly: true });
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM outbox_events').get();
      const held = received.length;
      await waitFor(() => received.length >= held + 50, {
        timeoutMs: 60_000,
        what: 'events committed after the held snapshot',
      });
      // what the platform has when the outbox copy starts was committed before it
      let acknowledged: string[] = [];
      const { dir, manifest } = await createBackup({
        configFile,
        out: join(base, 'backups'),
        includeSecrets: true,
        env: {},
        now: new Date(),
        beforeDatabase: (role) => {
          if (role === 'outbox') acknowledged = received.map((e) => e.id);
        },
      });
      reader.exec('COMMIT');
      reader.close();
      expect(acknowledged.length).toBeGreaterThanOrEqual(held + 50);
      // the line kept writing during and after the copy
      await waitFor(() => received.length >= acknowledged.length + 50, {
        timeoutMs: 60_000,
        what: 'events after the backup',
      });
      await subscriber.endAsync();

      expect(readManifest(join(dir, 'manifest.json')).files.length).toBe(manifest.files.length);
      const roles = manifest.files.map((f) => `${f.role}:${f.target}`);
      expect(roles).toEqual(
        expect.arrayContaining([
          'config:gateway.yaml',
          'secrets:secrets.env',
          'tls:pki/mqtt/client.key',
          'database:outbox.sqlite',
          'database:line-state.sqlite',
          'database:command-replies.sqlite',
          'pki:pki/opcua/own/certs/client_certificate.pem',
        ]),
      );

      // a changed byte anywhere: refused before anything is written
      const damaged = join(base, 'damaged');
      cpSync(dir, damaged, { recursive: true });
      const keyCopy = join(damaged, 'config/pki/mqtt/client.key');
      writeFileSync(keyCopy, readFileSync(keyCopy, 'utf8').replace('PRIVATE', 'PRIVATF'));
      const refused = memoryIo();
      const refusedCode = await runCli(
        [
          'restore',
          damaged,
          '--config-dir',
          join(base, 'etc-x'),
          '--data-dir',
          join(base, 'data-x'),
        ],
        refused,
      );
      expect(refusedCode).toBe(1);
      expect(refused.errors.join('\n')).toMatch(/client\.key: sha256 .* differs/);

      const restore = memoryIo();
      const newConfig = join(base, 'etc-new');
      const newData = join(base, 'data-new');
      const code = await runCli(
        ['restore', dir, '--config-dir', newConfig, '--data-dir', newData],
        restore,
      );
      expect(restore.errors).toEqual([]);
      expect(code).toBe(0);

      const db = new Database(join(newData, 'outbox.sqlite'), { readonly: true });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        const ids = new Set(
          db
            .prepare<[], { id: string }>('SELECT id FROM outbox_events')
            .all()
            .map((r) => r.id),
        );
        const missing = acknowledged.filter((id) => !ids.has(id));
        expect(missing).toEqual([]);
        // one snapshot: the events stream is gapless up to the last row copied
        const seqs = db
          .prepare<[], { seq: number }>(
            "SELECT seq FROM outbox_events WHERE stream = 'events' ORDER BY seq",
          )
          .all()
          .map((r) => r.seq);
        expect(seqs.length).toBeGreaterThanOrEqual(acknowledged.length);
        expect(seqs).toEqual(seqs.map((_, i) => i + 1));
        const next = db
          .prepare<[], { value: number }>("SELECT value FROM outbox_meta WHERE key = 'seq.events'")
          .get();
        expect(next!.value).toBeGreaterThan(Date.now() * 1000 - 600_000_000);
      } finally {
        db.close();
      }
      // the restored configuration points at the new data folder
      expect(
        parseDocument(readFileSync(join(newConfig, 'gateway.yaml'), 'utf8')).get('dataDir'),
      ).toBe(newData);
      const state = new Database(join(newData, 'line-state.sqlite'), { readonly: true });
      expect(state.pragma('integrity_check', { simple: true })).toBe('ok');
      state.close();
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
  }, 240_000);
});
