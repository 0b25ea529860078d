import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { tempDir } from './helpers.js';

/**
 * The gateway process is killed with SIGKILL 20 times mid-stream. Whatever it reported as
 * acknowledged (committed to the outbox) before each kill must reach the platform.
 */
const KILLS = 20;
const CHILD = fileURLToPath(new URL('./fixtures/gateway-child.ts', import.meta.url));

class Child {
  readonly proc: ChildProcess;
  acked = 0;
  started = false;
  drained = false;
  exited = false;
  stderr = '';
  private buf = '';

  constructor(dir: string, url: string, mode: 'produce' | 'drain') {
    this.proc = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, url, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      const lines = this.buf.split('\n');
      this.buf = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'started') this.started = true;
        else if (line === 'drained') this.drained = true;
        else if (line.startsWith('ack '))
          this.acked = Math.max(this.acked, Number(line.split(' ')[2]));
      }
    });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.proc.once('exit', () => (this.exited = true));
  }

  kill(signal: NodeJS.Signals): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.proc.once('exit', () => resolve());
      this.proc.kill(signal);
    });
  }
}

describe('gateway killed with SIGKILL mid-stream (real Mosquitto)', () => {
  let broker: MosquittoProcess;
  let platform: MqttClient;
  let dir: string;
  let child: Child | null = null;
  const received = new Map<number, string>();
  const statuses: string[] = [];
  let duplicates = 0;

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = tempDir('gw-kill-');
    platform = await connectAsync(broker.url, { clientId: 'platform-kill', clean: true });
    platform.on('message', (topic, payload) => {
      const msg = JSON.parse(payload.toString()) as { seq: number; id: string; state?: string };
      if (topic.endsWith('/status')) {
        statuses.push(msg.state ?? '?');
        return;
      }
      const id = received.get(msg.seq);
      if (id !== undefined) {
        duplicates++;
        expect(id, `seq ${msg.seq} re-sent with another id`).toBe(msg.id);
      }
      received.set(msg.seq, msg.id);
    });
    await platform.subscribeAsync('customs/site-k/gw-kill/#', { qos: 1 });
  });

  afterAll(async () => {
    await child?.kill('SIGKILL');
    await platform?.endAsync();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`loses nothing acknowledged across ${KILLS} kills`, async () => {
    let ackedTotal = 0;
    for (let i = 0; i < KILLS; i++) {
      const c = new Child(dir, broker.url, 'produce');
      child = c;
      // mid-stream: the child has committed new events and the uplink is sending
      const floor = ackedTotal;
      await waitFor(() => c.acked >= floor + 40 || c.exited, {
        timeoutMs: 30_000,
        what: `child ${i} acknowledging events`,
      });
      expect(c.exited, c.stderr).toBe(false);
      await c.kill('SIGKILL');
      ackedTotal = Math.max(ackedTotal, c.acked);
    }
    // the will: the broker announced the killed gateway offline
    await waitFor(() => statuses.includes('offline'), { what: 'offline status (last will)' });
    expect(statuses).toContain('online');
    const drain = new Child(dir, broker.url, 'drain');
    child = drain;
    await waitFor(() => drain.drained || drain.exited, { timeoutMs: 60_000, what: 'drained' });
    expect(drain.exited, drain.stderr).toBe(false);
    await waitFor(() => received.has(ackedTotal), { timeoutMs: 20_000, what: `seq ${ackedTotal}` });
    const missing: number[] = [];
    for (let s = 1; s <= ackedTotal; s++) if (!received.has(s)) missing.push(s);
    expect(missing).toEqual([]);
    expect(ackedTotal).toBeGreaterThanOrEqual(KILLS * 40);
    console.log(`gateway-kill: ${ackedTotal} acknowledged, all received, ${duplicates} duplicates`);
    await drain.kill('SIGTERM');
  }, 170_000);
});
