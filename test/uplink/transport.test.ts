import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveSecrets } from '../../config/loader.js';
import type { UplinkConfig } from '../../config/schema.js';
import { systemClock } from '../../edge/clock.js';
import type { EventEnvelope, StatusMessage } from '../../edge/events/model.js';
import { silentLogger } from '../../edge/log.js';
import type { Outbox } from '../../edge/outbox/outbox.js';
import { Uplink } from '../../edge/uplink/uplink.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { draft, openOutbox, tempDir, uplinkConfig } from './helpers.js';

/** TLS, mTLS and username/password with a CA made by openssl now; MQTT 3.1.1 and 5; Receive Maximum. */

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function makePki(dir: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=edge-test-ca',
  );
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const [name, subject, extfile] of [
    ['server', '/CN=localhost', ext],
    ['client', '/CN=gw-tls', null],
  ] as const) {
    openssl(
      dir,
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    );
    openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      ...(extfile ? ['-extfile', extfile] : []),
    );
  }
  // a second CA that signed nothing: trusting it must fail
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'other.key',
    '-out',
    'other.pem',
    '-days',
    '2',
    '-subj',
    '/CN=other-ca',
  );
}

/** Mosquitto started as root drops to the `mosquitto` user: it must be able to read the files. */
function makeReadable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
}

interface Harness {
  outbox: Outbox;
  uplink: Uplink;
  dir: string;
}
const harnesses: Harness[] = [];

function harness(config: UplinkConfig, gatewayId = 'gw-tls'): Harness {
  const dir = tempDir('uplink-');
  const outbox = openOutbox(dir);
  const uplink = new Uplink({
    config,
    gatewayId,
    site: 'site-t',
    version: '1.2.3',
    startedAt: '2026-01-01T00:00:00.000Z',
    outbox,
    clock: systemClock,
    log: silentLogger(),
  });
  const h = { outbox, uplink, dir };
  harnesses.push(h);
  return h;
}

afterEach(async () => {
  for (const h of harnesses.splice(0)) {
    await h.uplink.stop();
    h.outbox.close();
    rmSync(h.dir, { recursive: true, force: true });
  }
});

async function subscriber(url: string, extra: IClientOptions = {}) {
  const client = await connectAsync(url, { clean: true, ...extra });
  const events: EventEnvelope[] = [];
  const status: StatusMessage[] = [];
  client.on('message', (topic, payload) => {
    const msg = JSON.parse(payload.toString()) as unknown;
    if (topic.endsWith('/status')) status.push(msg as StatusMessage);
    else events.push(msg as EventEnvelope);
  });
  await client.subscribeAsync('customs/site-t/#', { qos: 1 });
  return { client, events, status };
}

async function sendAndCheck(h: Harness, sub: { events: EventEnvelope[] }, count: number) {
  await h.outbox.append(Array.from({ length: count }, (_, i) => draft('parcel.inducted', i)));
  await waitFor(() => sub.events.filter((e) => e.stream === 'events').length >= count, {
    timeoutMs: 20_000,
    what: `${count} events`,
  });
  await waitFor(() => h.outbox.stats().pending === 0, { what: 'all acknowledged' });
  const seqs = sub.events.filter((e) => e.stream === 'events').map((e) => e.seq);
  expect(seqs).toEqual(Array.from({ length: count }, (_, i) => i + 1));
}

describe('uplink transport (real Mosquitto)', () => {
  let pki: string;
  const brokers: MosquittoProcess[] = [];
  const clients: MqttClient[] = [];

  beforeAll(() => {
    pki = tempDir('pki-');
    makePki(pki);
    makeReadable(pki);
  });

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    for (const b of brokers) await b.stop();
    rmSync(pki, { recursive: true, force: true });
  });

  it.each([4, 5] as const)(
    'MQTT %s: events QoS 1 in order, telemetry on its own topic, retained online status with version',
    async (protocolVersion) => {
      const broker = await startMosquitto();
      brokers.push(broker);
      const sub = await subscriber(broker.url, { protocolVersion });
      clients.push(sub.client);
      const h = harness(uplinkConfig({ url: broker.url, protocolVersion }));
      h.uplink.start();
      await h.outbox.append([draft('telemetry', 0, { cpu: 1 })]);
      await sendAndCheck(h, sub, 300);
      const tel = await waitFor(() => sub.events.find((e) => e.stream === 'telemetry'));
      expect(tel).toMatchObject({ type: 'telemetry', seq: 1, gatewayId: 'gw-tls' });
      const online = await waitFor(() => sub.status.find((s) => s.state === 'online'));
      expect(online).toMatchObject({ version: '1.2.3', startedAt: '2026-01-01T00:00:00.000Z' });
      expect(h.uplink.health().protocolVersion).toBe(protocolVersion);
      // clean stop publishes a retained offline status
      await h.uplink.stop();
      await waitFor(() => sub.status.at(-1)?.state === 'offline', { what: 'offline status' });
      const late = await subscriber(broker.url);
      clients.push(late.client);
      await waitFor(() => late.status.length > 0, { what: 'retained status' });
      expect(late.status[0]!.state).toBe('offline');
    },
  );

  it("keeps the in-flight window within the broker's Receive Maximum (MQTT 5 CONNACK)", async () => {
    const broker = await startMosquitto({ extraConfig: ['max_inflight_messages 3'] });
    brokers.push(broker);
    const sub = await subscriber(broker.url, { protocolVersion: 5 });
    clients.push(sub.client);
    const h = harness(uplinkConfig({ url: broker.url, protocolVersion: 5, inFlightWindow: 100 }));
    h.uplink.start();
    await sendAndCheck(h, sub, 1000);
    const health = h.uplink.health();
    expect(health.receiveMaximum).toBe(3);
    expect(health.window).toBe(3);
    expect(health.maxInFlightSeen).toBeLessThanOrEqual(3);
    expect(health.maxInFlightSeen).toBeGreaterThan(1);
  });

  it('TLS with a CA and username/password read from a secret file; a wrong password is refused', async () => {
    const passwd = join(pki, 'passwd');
    writeFileSync(passwd, '');
    execFileSync('mosquitto_passwd', ['-b', passwd, 'gw-tls', 'right-password']);
    makeReadable(pki);
    const broker = await startMosquitto({
      listenerLines: [
        `cafile ${pki}/ca.pem`,
        `certfile ${pki}/server.pem`,
        `keyfile ${pki}/server.key`,
      ],
      extraConfig: [`password_file ${passwd}`, 'allow_anonymous false'],
    });
    brokers.push(broker);
    const url = `mqtts://localhost:${broker.port}`;
    const sub = await subscriber(url, {
      ca: readFileSync(join(pki, 'ca.pem')),
      username: 'gw-tls',
      password: 'right-password',
      protocolVersion: 5,
    });
    clients.push(sub.client);
    const secretFile = join(pki, 'mqtt-password');
    writeFileSync(secretFile, 'right-password\n');
    const { doc, issues } = resolveSecrets({
      url,
      protocolVersion: 5,
      username: 'gw-tls',
      password: `\${file:${secretFile}}`,
      tls: { ca: join(pki, 'ca.pem') },
    });
    expect(issues).toEqual([]);
    const h = harness(uplinkConfig(doc as Record<string, unknown>));
    h.uplink.start();
    await sendAndCheck(h, sub, 50);

    const wrong = harness(
      uplinkConfig({
        url,
        username: 'gw-tls',
        password: 'wrong',
        tls: { ca: join(pki, 'ca.pem') },
        backoff: { initialMs: 50, maxMs: 200 },
      }),
      'gw-wrong',
    );
    wrong.uplink.start();
    await waitFor(() => wrong.uplink.health().lastError, { what: 'auth error' });
    expect(wrong.uplink.health().lastError).toMatch(/not authori[sz]ed|bad user/i);
    expect(wrong.uplink.health().connects).toBe(0);
  });

  it('mTLS: a client certificate is required; a wrong CA is refused', async () => {
    const broker = await startMosquitto({
      listenerLines: [
        `cafile ${pki}/ca.pem`,
        `certfile ${pki}/server.pem`,
        `keyfile ${pki}/server.key`,
        'require_certificate true',
      ],
    });
    brokers.push(broker);
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const tls = {
      ca: join(pki, 'ca.pem'),
      cert: join(pki, 'client.pem'),
      key: join(pki, 'client.key'),
    };
    const sub = await subscriber(url, {
      ca: readFileSync(tls.ca),
      cert: readFileSync(tls.cert),
      key: readFileSync(tls.key),
    });
    clients.push(sub.client);
    const h = harness(uplinkConfig({ url, protocolVersion: 4, tls }));
    h.uplink.start();
    await sendAndCheck(h, sub, 50);

    const backoff = { initialMs: 50, maxMs: 200 };
    const noCert = harness(uplinkConfig({ url, tls: { ca: tls.ca }, backoff }), 'gw-nocert');
    const otherCa = harness(
      uplinkConfig({ url, tls: { ...tls, ca: join(pki, 'other.pem') }, backoff }),
      'gw-otherca',
    );
    noCert.uplink.start();
    otherCa.uplink.start();
    await waitFor(
      () => noCert.uplink.health().lastError !== null || noCert.uplink.health().disconnects > 0,
      {
        what: 'no-cert refusal',
      },
    );
    await waitFor(() => otherCa.uplink.health().lastError, { what: 'wrong CA refusal' });
    expect(otherCa.uplink.health().lastError).toMatch(/certificate/i);
    expect(otherCa.uplink.health().connects).toBe(0);
    await noCert.outbox.append([draft('parcel.inducted', 1)]);
    expect(noCert.outbox.stats().pending).toBe(1);
    expect(sub.events.filter((e) => e.gatewayId === 'gw-nocert')).toEqual([]);
  });
});
