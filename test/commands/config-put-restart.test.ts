import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIVER_KINDS } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import type { CommandReply } from '../../edge/commands/schemas.js';
import type { Gateway } from '../../edge/gateway.js';
import { GatewayHost } from '../../edge/gateway-host.js';
import { silentLogger } from '../../edge/log.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

/**
 * A config-put restarts the gateway's pipeline from inside its own handler, so its reply cannot
 * go out on the old uplink: the platform re-sends the same id to the restarted gateway. Over a
 * real Mosquitto, the re-send is answered with the original reply and the configuration is
 * applied once (one backup, one `applied` audit).
 */
describe('config-put re-sent after the restart it caused (GatewayHost, real Mosquitto)', () => {
  let broker: MosquittoProcess;
  let platform: MqttClient;
  let host: GatewayHost;
  let dir: string;
  let file: string;
  let base: Record<string, any>;
  let prefix: string;
  const replies: CommandReply[] = [];

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
    platform = await connectAsync(broker.url, { clientId: 'platform-cp', clean: true });
    platform.on('message', (_topic, payload) =>
      replies.push(JSON.parse(payload.toString()) as CommandReply),
    );
    await platform.subscribeAsync(`${prefix}/replies/#`, { qos: 1 });
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

  it('answers the re-send with the original reply and applies the configuration once', async () => {
    const first = host.gateway;
    const next = structuredClone(base);
    next.drivers[0].parcelsPerMinute = 120;
    const body = JSON.stringify({
      schema: 1,
      id: 'cp-restart-1',
      args: { config: next, operatorId: 'ops-1' },
    });
    const topic = `${prefix}/commands/config-put`;
    await platform.publishAsync(topic, body, { qos: 1 });
    // the pipeline restarts: a new gateway, its uplink connected again
    await waitFor(() => host.gateway !== first && host.gateway?.uplink?.connected, {
      timeoutMs: 30_000,
      what: 'restarted gateway connected',
    });
    // the platform got no reply (the old uplink had stopped) and re-sends the same id
    await platform.publishAsync(topic, body, { qos: 1 });
    const reply = await waitFor(() => replies.find((r) => r.id === 'cp-restart-1'), {
      timeoutMs: 20_000,
      what: 'reply to the re-sent config-put',
    });
    expect(reply).toMatchObject({ command: 'config-put', ok: true, result: { applied: true } });
    await waitFor(() => auditsApplied(host.gateway) >= 1, { what: 'applied audit' });
    // once more, to be sure: the same reply, still nothing applied again
    const before = replies.length;
    await platform.publishAsync(topic, body, { qos: 1 });
    await waitFor(() => replies.length > before, { timeoutMs: 20_000, what: 'third reply' });
    expect(replies.filter((r) => r.id === 'cp-restart-1').every((r) => r.time === reply.time)).toBe(
      true,
    );
    expect(host.gateway?.commands?.counters.duplicates).toBe(2);
    expect(readdirSync(dir).filter((f) => f.endsWith('.bak'))).toHaveLength(1);
    expect(auditsApplied(host.gateway)).toBe(1);
    expect(host.config?.drivers[0]).toMatchObject({ parcelsPerMinute: 120 });
  });
});
