import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIVER_KINDS } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import type { CommandReply } from '../../edge/commands/schemas.js';
import type { Gateway } from '../../edge/gateway/gateway.js';
import { GatewayHost } from '../../edge/gateway/host.js';
import { silentLogger } from '../../edge/log.js';
import { signed, testCommandKeys } from '../support/command-signing.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

/**
 * A config-put restarts the gateway's pipeline from inside its own handler, so its reply cannot
 * go out on the old uplink: it is stored unpublished and the restarted gateway's router delivers
 * it late. Over a real Mosquitto (MQTT 5): the FIRST config-put gets its reply on its response
 * topic with its correlation data, without a re-send, exactly once; a re-send of the same id is
 * answered with the same bytes and the configuration is applied once (one backup, one `applied`
 * audit).
 */
describe('config-put reply across the restart it caused (GatewayHost, real Mosquitto)', () => {
  let broker: MosquittoProcess;
  let platform: MqttClient;
  let host: GatewayHost;
  let dir: string;
  let file: string;
  let base: Record<string, any>;
  let prefix: string;
  const RESPONSE_TOPIC = 'platform/responses/ops-console';
  const received: Array<{ topic: string; payload: string; correlation: Buffer | undefined }> = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = mkdtempSync(join(tmpdir(), 'edge-cp-restart-'));
    file = join(dir, 'gateway.yaml');
    base = parse(
      readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
    );
    base.dataDir = join(dir, 'data');
    base.log = { level: 'silent', pretty: false };
    base.http.port = 0;
    base.embeddedBroker.enabled = false;
    base.uplink.url = broker.url;
    base.uplink.protocolVersion = 5;
    base.uplink.commands = { signing: { keys: testCommandKeys() } };
    writeFileSync(file, stringify(base));
    host = new GatewayHost({
      file,
      driverKinds: DRIVER_KINDS,
      log: silentLogger(),
      clock: systemClock,
      version: 't',
      secrets: { env: {}, readFile: () => '' },
    });
    await host.start();
    prefix = host.gateway!.uplink!.topics.command('x').replace(/\/commands\/x$/, '');
    platform = await connectAsync(broker.url, {
      clientId: 'platform-cp',
      clean: true,
      protocolVersion: 5,
    });
    platform.on('message', (topic, payload, packet) =>
      received.push({
        topic,
        payload: payload.toString(),
        correlation: packet.properties?.correlationData,
      }),
    );
    await platform.subscribeAsync([RESPONSE_TOPIC, `${prefix}/replies/#`], { qos: 1 });
    await waitFor(() => host.gateway?.uplink?.connected, { timeoutMs: 20_000, what: 'uplink' });
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
    await platform?.endAsync();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function auditsApplied(gw: Gateway | null): number {
    return (
      gw?.outbox
        ?.recent(['audit'], 50)
        .filter((e) => e.payload.action === 'config.put' && e.payload.result === 'applied')
        .length ?? 0
    );
  }

  const repliesTo = (id: string) =>
    received.filter((r) => (JSON.parse(r.payload) as CommandReply).id === id);

  it('the first config-put gets its reply without a re-send, once; a re-send gets the same bytes', async () => {
    const first = host.gateway;
    const next = structuredClone(base);
    next.drivers[0].parcelsPerMinute = 120;
    const request = {
      schema: 1,
      id: 'cp-restart-1',
      args: { config: next, operatorId: 'ops-1' },
    };
    // signed by the platform (role config); a re-send is signed again (a new nonce)
    const sign = () => signed('config-put', request, 'demo-site/gw-demo-01');
    const body = sign();
    const topic = `${prefix}/commands/config-put`;
    const correlationData = Buffer.from('corr-cp-restart-1');
    const properties = { responseTopic: RESPONSE_TOPIC, correlationData };
    await platform.publishAsync(topic, body, { qos: 1, properties });
    // the pipeline restarts; the new gateway's router delivers the stored reply: no re-send
    const late = await waitFor(() => repliesTo('cp-restart-1')[0], {
      timeoutMs: 30_000,
      what: 'reply to the first config-put',
    });
    expect(host.gateway).not.toBe(first);
    expect(late.topic).toBe(RESPONSE_TOPIC);
    expect(late.correlation).toEqual(correlationData);
    const reply = JSON.parse(late.payload) as CommandReply;
    expect(reply).toMatchObject({
      id: 'cp-restart-1',
      command: 'config-put',
      ok: true,
      result: { applied: true },
    });
    // marked published after the PUBACK: anything published before the mark arrives before the
    // re-send's reply below (one publisher, QoS 1, in order), so the counts prove "once"
    await waitFor(() => host.gateway?.commands?.lateReplies?.delivered === 1, {
      timeoutMs: 20_000,
      what: 'late reply marked published',
    });
    expect(first?.commands?.counters.replyFailures).toBe(1);
    await waitFor(() => auditsApplied(host.gateway) >= 1, { what: 'applied audit' });

    // a re-send of the same id: the same bytes from the store, nothing applied again
    await platform.publishAsync(topic, sign(), { qos: 1, properties });
    await waitFor(() => repliesTo('cp-restart-1').length >= 2, {
      timeoutMs: 20_000,
      what: 'reply to the re-send',
    });
    const all = repliesTo('cp-restart-1');
    expect(all).toHaveLength(2);
    expect(all[1]).toEqual(late);
    expect(received.filter((r) => r.topic !== RESPONSE_TOPIC)).toEqual([]);
    expect(host.gateway?.commands?.counters.duplicates).toBe(1);
    expect(host.gateway?.commands?.lateReplies).toMatchObject({ delivered: 1, failures: 0 });
    expect(readdirSync(dir).filter((f) => f.endsWith('.bak'))).toHaveLength(1);
    expect(auditsApplied(host.gateway)).toBe(1);
    expect(host.config?.drivers[0]).toMatchObject({ parcelsPerMinute: 120 });
  });
});
