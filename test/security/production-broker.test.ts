import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { CommandRouter } from '../../edge/commands/router.js';
import type { CommandReply } from '../../edge/commands/schemas.js';
import { silentLogger } from '../../edge/log.js';
import type { Outbox } from '../../edge/outbox/outbox.js';
import { Uplink } from '../../edge/uplink/uplink.js';
import { signed, testCommandKeys } from '../support/command-signing.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { draft, openOutbox, tempDir, uplinkConfig } from '../uplink/helpers.js';

/**
 * The documented production transport (provisioning/mosquitto/mosquitto.conf and customs-acl, as
 * shipped, paths pointed at a CA made here): TLS with a client certificate for everyone, the
 * certificate CN as the identity, and each gateway held to its own topics. A gateway's uplink
 * and the platform talk; another gateway's certificate cannot command this gateway or read its
 * commands; a client without a certificate does not get in.
 */

const GW = 'gw-site-01';
const BASE = `customs/site-a/${GW}`;

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function makePki(dir: string, clients: string[]): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=customs-test-ca',
  );
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const cn of ['broker', ...clients]) {
    openssl(
      dir,
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${cn}.key`,
      '-out',
      `${cn}.csr`,
      '-subj',
      `/CN=${cn === 'broker' ? 'localhost' : cn}`,
    );
    openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${cn}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${cn}.pem`,
      '-days',
      '2',
      ...(cn === 'broker' ? ['-extfile', 'server.ext'] : []),
    );
  }
  // the broker drops root for the mosquitto user: it must read its files
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
}

describe('production broker setup (TLS, client certificates, ACL)', () => {
  let pki: string;
  let broker: MosquittoProcess;
  let outbox: Outbox;
  let uplink: Uplink;
  let router: CommandRouter;
  const clients: MqttClient[] = [];
  const replies: CommandReply[] = [];

  const tlsClient = async (cn: string) => {
    const c = await connectAsync(`mqtts://127.0.0.1:${broker.port}`, {
      clientId: `${cn}-test`,
      protocolVersion: 5,
      ca: readFileSync(join(pki, 'ca.pem')),
      cert: readFileSync(join(pki, `${cn}.pem`)),
      key: readFileSync(join(pki, `${cn}.key`)),
      reconnectPeriod: 0,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    pki = tempDir('prod-pki-');
    makePki(pki, [GW, 'customs-platform', 'gw-other']);
    const acl = join(pki, 'customs-acl');
    writeFileSync(
      acl,
      readFileSync(new URL('../../provisioning/mosquitto/customs-acl', import.meta.url)),
    );
    chmodSync(acl, 0o644);
    const shipped = readFileSync(
      new URL('../../provisioning/mosquitto/mosquitto.conf', import.meta.url),
      'utf8',
    );
    broker = await startMosquitto({
      rawConfig: (port, dir) =>
        shipped
          .replace('listener 8883', `listener ${port} 127.0.0.1`)
          .replace('/etc/mosquitto/customs-acl', acl)
          .replace('/etc/mosquitto/ca/customs-ca.pem', join(pki, 'ca.pem'))
          .replace('/etc/mosquitto/certs/broker.pem', join(pki, 'broker.pem'))
          .replace('/etc/mosquitto/certs/broker.key', join(pki, 'broker.key'))
          .replace('/var/lib/mosquitto/', `${dir}/`)
          .replace('log_dest syslog', 'log_dest stderr'),
    });
    outbox = openOutbox(tempDir('prod-outbox-'));
    const config = uplinkConfig({
      url: `mqtts://127.0.0.1:${broker.port}`,
      protocolVersion: 5,
      tls: {
        ca: join(pki, 'ca.pem'),
        cert: join(pki, `${GW}.pem`),
        key: join(pki, `${GW}.key`),
      },
      commands: { signing: { keys: testCommandKeys() } },
    });
    uplink = new Uplink({
      config,
      gatewayId: GW,
      site: 'site-a',
      version: 't',
      startedAt: new Date().toISOString(),
      outbox,
      clock: systemClock,
      log: silentLogger(),
    });
    router = new CommandRouter({
      transport: uplink,
      settings: config.commands,
      handlers: { gateTest: (args) => Promise.resolve({ fired: args.gateId }) },
      getConfig: () => ({}),
      lastSeq: () => 0,
      record: () => undefined,
      info: () => ({ gatewayId: GW }),
      clock: systemClock,
      log: silentLogger(),
    });
    router.start();
    uplink.start();
    await waitFor(() => uplink.connected, {
      timeoutMs: 20_000,
      what: 'gateway connected over mTLS',
    });
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    router?.stop();
    await uplink?.stop();
    outbox?.close();
    await broker?.stop();
    rmSync(pki, { recursive: true, force: true });
  });

  it('the gateway publishes its events; the platform reads them and commands the gateway', async () => {
    const platform = await tlsClient('customs-platform');
    const events: unknown[] = [];
    platform.on('message', (topic, payload) => {
      if (topic.startsWith('platform/responses/'))
        replies.push(JSON.parse(payload.toString()) as CommandReply);
      else events.push(topic);
    });
    await platform.subscribeAsync([`${BASE}/events/#`, `platform/responses/${GW}/#`], { qos: 1 });
    await outbox.append([draft('parcel.inducted', 1)]);
    await waitFor(() => events.length > 0, { what: 'event through the broker' });
    await platform.publishAsync(
      `${BASE}/commands/gate-test`,
      signed(
        'gate-test',
        { schema: 1, id: 'g1', args: { gateId: 'gate-pass', operatorId: 't' } },
        `site-a/${GW}`,
      ),
      {
        qos: 1,
        properties: {
          responseTopic: `platform/responses/${GW}/ops`,
          correlationData: Buffer.from('c1'),
        },
      },
    );
    const reply = await waitFor(() => replies.find((r) => r.id === 'g1'), { what: 'reply' });
    expect(reply).toMatchObject({ ok: true, result: { fired: 'gate-pass' } });
  });

  it('another gateway cannot command this one nor read its commands; nor can the gateway itself', async () => {
    const other = await tlsClient('gw-other');
    const received = router.counters.received;
    await expect(
      other.publishAsync(`${BASE}/commands/ping`, JSON.stringify({ schema: 1, id: 'x' }), {
        qos: 1,
      }),
    ).rejects.toThrow();
    // Mosquitto grants the subscription and checks read access on delivery: nothing arrives
    const spied: string[] = [];
    other.on('message', (topic) => spied.push(topic));
    await other.subscribeAsync(`${BASE}/commands/+`, { qos: 1 });
    const self = await tlsClient(GW);
    await expect(
      self.publishAsync(`${BASE}/commands/ping`, JSON.stringify({ schema: 1, id: 'y' }), {
        qos: 1,
      }),
    ).rejects.toThrow();
    // a round trip that is allowed, so anything denied above would have arrived by now
    const platform = await tlsClient('customs-platform');
    await platform.publishAsync(`${BASE}/commands/ping`, JSON.stringify({ schema: 1, id: 'z' }), {
      qos: 1,
    });
    await waitFor(() => router.counters.received === received + 1, { what: 'the allowed ping' });
    expect(router.counters.received).toBe(received + 1);
    expect(spied).toEqual([]);
  });

  it('a client without a certificate does not get in', async () => {
    await expect(
      connectAsync(`mqtts://127.0.0.1:${broker.port}`, {
        clientId: 'no-cert',
        ca: readFileSync(join(pki, 'ca.pem')),
        reconnectPeriod: 0,
        connectTimeout: 5000,
      }),
    ).rejects.toThrow();
  });
});
