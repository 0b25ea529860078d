import { rmSync } from 'node:fs';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { silentLogger } from '../../edge/log.js';
import type { Outbox } from '../../edge/outbox/outbox.js';
import type { HealthLike } from '../../edge/uplink/device-availability.js';
import { Uplink } from '../../edge/uplink/uplink.js';
import { ContractChecker } from '../support/contract.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';
import { openOutbox, tempDir, uplinkConfig } from './helpers.js';

/**
 * Retained per-device availability against a real Mosquitto: published with the session of the
 * gateway status, updated on change, understood as stale when the gateway dies (its will turns the
 * gateway status offline with the same session), republished with the new session after the
 * reconnect, and cleared for a device the gateway no longer has.
 */
const BASE = 'customs/site-d/gw-dev';
interface Status {
  state: string;
  session: string;
  reason?: string | null;
  deviceId?: string;
}

describe('retained device availability (real Mosquitto, MQTT 5)', () => {
  let broker: MosquittoProcess;
  let proxy: TcpProxy;
  let platform: MqttClient;
  let outbox: Outbox;
  let uplink: Uplink;
  let dir: string;
  const retained = new Map<string, Status | null>();
  const contract = new ContractChecker();
  const devices: HealthLike[] = [
    { id: 'gates', kind: 'gates', state: 'running', since: new Date().toISOString() },
    {
      id: 'scanner-1',
      kind: 'serial',
      state: 'degraded',
      since: new Date().toISOString(),
      lastError: { message: 'port reopening' },
    },
  ];
  const device = (id: string) => retained.get(`${BASE}/devices/${id}/status`);
  const gateway = () => retained.get(`${BASE}/status`);
  /** What a platform concludes: a device status counts only with the online gateway's session. */
  const effective = (id: string) => {
    const g = gateway();
    const d = device(id);
    if (!g || g.state !== 'online' || !d || d.session !== g.session) return 'unknown';
    return d.state;
  };

  beforeAll(async () => {
    broker = await startMosquitto();
    proxy = await TcpProxy.start(broker.port);
    dir = tempDir('device-status-');
    outbox = openOutbox(dir);
    platform = await connectAsync(broker.url, { clientId: 'platform-dev', protocolVersion: 5 });
    platform.on('message', (topic, payload) => {
      const doc = payload.length === 0 ? null : (JSON.parse(payload.toString()) as Status);
      retained.set(topic, doc);
      if (doc && topic.includes('/devices/')) {
        const problem = contract.checkComponent('DeviceStatus', doc);
        if (problem) throw new Error(problem);
      }
    });
    await platform.subscribeAsync(`${BASE}/#`, { qos: 1 });
    uplink = new Uplink({
      config: uplinkConfig({
        url: `mqtt://127.0.0.1:${proxy.port}`,
        protocolVersion: 5,
        backoff: { initialMs: 100, maxMs: 300 },
        keepaliveS: 1,
      }),
      gatewayId: 'gw-dev',
      site: 'site-d',
      version: 'test',
      startedAt: new Date().toISOString(),
      outbox,
      clock: systemClock,
      log: silentLogger(),
      devices: () => devices,
    });
    uplink.start();
  });

  afterAll(async () => {
    await uplink?.stop();
    await platform?.endAsync();
    outbox?.close();
    await proxy?.dispose();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes every device with the session of the online gateway status', async () => {
    await waitFor(() => effective('gates') === 'online' && effective('scanner-1') === 'degraded', {
      what: 'both devices effective',
    });
    expect(device('scanner-1')).toMatchObject({ reason: 'port reopening', deviceId: 'scanner-1' });
    expect(contract.checkComponent('Status', gateway())).toBeNull();
  });

  it('publishes a change as it happens: a driver failing, a line device lost', async () => {
    devices[1] = { ...devices[1]!, state: 'failed', lastError: { message: 'unplugged' } };
    uplink.deviceStatus!.refresh();
    await waitFor(() => effective('scanner-1') === 'lost', { what: 'scanner lost' });
    expect(device('scanner-1')!.reason).toBe('unplugged');
    await outbox.append([
      {
        type: 'alarm.device-lost',
        parcelId: null,
        atMono: systemClock.monoMs(),
        payload: { deviceId: 'ct-1', role: 'ct', ok: false, reason: 'life bit stopped' },
      },
    ]);
    await waitFor(() => effective('ct-1') === 'lost', { what: 'ct lost' });
    expect(device('ct-1')).toMatchObject({ kind: 'ct', reason: 'life bit stopped' });
  });

  it('the gateway dies: its will makes every device status stale; the reconnect republishes them', async () => {
    const before = gateway()!.session;
    await proxy.cut(); // the broker sees the connection die (keepalive 1 s) and sends the will
    await waitFor(() => gateway()?.state === 'offline', { timeoutMs: 10_000, what: 'the will' });
    expect(gateway()!.session).toBe(before); // the will names the connection it belonged to
    // device statuses are still retained, but a platform reads them as unknown
    expect(device('gates')!.state).toBe('online');
    expect(effective('gates')).toBe('unknown');
    expect(effective('ct-1')).toBe('unknown');

    // the scanner is removed from the configuration while the gateway is away
    devices.splice(1, 1);
    await proxy.restore();
    await waitFor(() => gateway()?.state === 'online', { timeoutMs: 10_000, what: 'birth' });
    expect(gateway()!.session).not.toBe(before);
    await waitFor(() => effective('gates') === 'online' && effective('ct-1') === 'lost', {
      what: 'devices republished with the new session',
    });
    // the retained status of a device the gateway no longer has is cleared
    await waitFor(() => retained.has(`${BASE}/devices/scanner-1/status`) && !device('scanner-1'), {
      what: 'scanner status cleared',
    });
  });

  it('a new subscriber gets exactly the devices the gateway has, with its session', async () => {
    const late = await connectAsync(broker.url, { clientId: 'platform-late', protocolVersion: 5 });
    const seen = new Map<string, Status>();
    late.on('message', (topic, payload) => {
      if (payload.length > 0) seen.set(topic, JSON.parse(payload.toString()) as Status);
    });
    await late.subscribeAsync(`${BASE}/devices/+/status`, { qos: 1 });
    await waitFor(() => seen.size >= 2, { what: 'retained device statuses' });
    await late.endAsync();
    expect([...seen.keys()].sort()).toEqual([
      `${BASE}/devices/ct-1/status`,
      `${BASE}/devices/gates/status`,
    ]);
    for (const s of seen.values()) expect(s.session).toBe(gateway()!.session);
  });
});
