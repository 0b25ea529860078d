import { rmSync } from 'node:fs';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { CommandRouter, type CommandHandlers } from '../../edge/commands/router.js';
import type { CommandReply } from '../../edge/commands/schemas.js';
import { silentLogger } from '../../edge/log.js';
import type { Outbox } from '../../edge/outbox/outbox.js';
import { Uplink } from '../../edge/uplink/uplink.js';
import { payloadFor, testCommandKeys } from '../support/command-signing.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { draft, openOutbox, tempDir, uplinkConfig } from '../uplink/helpers.js';

const BASE = 'customs/site-a/gw-cmd';

interface Rig {
  uplink: Uplink;
  router: CommandRouter;
  platform: MqttClient;
  replies: Array<{ topic: string; reply: CommandReply; correlation?: string }>;
}

describe.each([5, 4] as const)(
  'command router over MQTT %s (real Mosquitto)',
  (protocolVersion) => {
    let broker: MosquittoProcess;
    let dir: string;
    let outbox: Outbox;
    let rig: Rig;
    const handlers: CommandHandlers = {
      gateTest: (args) => Promise.resolve({ fired: args.gateId }),
      ctDecision: () => Promise.reject(new Error('parcel already past the diverter')),
      putConfig: () => new Promise(() => undefined), // never answers: the router times out
    };

    beforeAll(async () => {
      broker = await startMosquitto();
      dir = tempDir('cmd-');
      outbox = openOutbox(dir);
      await outbox.append(Array.from({ length: 50 }, (_, i) => draft('parcel.inducted', i)));
      const config = uplinkConfig({
        url: broker.url,
        protocolVersion,
        topicRoot: 'customs',
        password: 'super-secret',
        username: 'gw',
        backoff: { initialMs: 50, maxMs: 500 },
        commands: {
          handlerTimeoutMs: 300,
          replayMinIntervalMs: 60_000,
          replayEventsPerS: 1000,
          signing: { keys: testCommandKeys() },
        },
      });
      const uplink = new Uplink({
        config,
        gatewayId: 'gw-cmd',
        site: 'site-a',
        version: 'test',
        startedAt: new Date().toISOString(),
        outbox,
        clock: systemClock,
        log: silentLogger(),
      });
      const router = new CommandRouter({
        transport: uplink,
        settings: config.commands,
        handlers,
        getConfig: () => ({ uplink: config, gateway: { id: 'gw-cmd' } }),
        lastSeq: (s) => (s === 'events' ? outbox.stats().lastSeq : outbox.stats().lastTelemetrySeq),
        record: (d) => void outbox.append(d),
        info: () => ({ gatewayId: 'gw-cmd' }),
        clock: systemClock,
        log: silentLogger(),
      });
      router.start();
      uplink.start();
      const platform = await connectAsync(broker.url, {
        clientId: `platform-${protocolVersion}`,
        protocolVersion,
        clean: true,
      });
      const replies: Rig['replies'] = [];
      platform.on('message', (topic, payload, packet) => {
        if (!topic.includes('/replies/') && !topic.startsWith('platform/')) return;
        const correlation = packet.properties?.correlationData?.toString();
        replies.push({
          topic,
          reply: JSON.parse(payload.toString()) as CommandReply,
          ...(correlation ? { correlation } : {}),
        });
      });
      await platform.subscribeAsync([`${BASE}/replies/+`, 'platform/inbox'], { qos: 1 });
      rig = { uplink, router, platform, replies };
      await waitFor(() => uplink.connected, { what: 'uplink connected' });
      await waitFor(() => outbox.stats().pending === 0, { what: 'backlog sent' });
    });

    afterAll(async () => {
      await rig?.platform.endAsync();
      await rig?.uplink.stop();
      outbox?.close();
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    async function send(name: string, body: unknown, v5reply = false): Promise<CommandReply> {
      const before = rig.replies.length;
      const payload = payloadFor(name, body as object | string, 'site-a/gw-cmd');
      const correlation = `corr-${Math.random()}`;
      await rig.platform.publishAsync(`${BASE}/commands/${name}`, payload, {
        qos: 1,
        ...(v5reply
          ? {
              properties: {
                responseTopic: 'platform/inbox',
                correlationData: Buffer.from(correlation),
              },
            }
          : {}),
      });
      const got = await waitFor(
        () => rig.replies.slice(before).find((r) => r.reply.command === name),
        {
          timeoutMs: 15_000,
          what: `reply to ${name}`,
        },
      );
      if (v5reply) {
        expect(got.topic).toBe('platform/inbox');
        expect(got.correlation).toBe(correlation);
      } else {
        expect(got.topic).toBe(`${BASE}/replies/${name}`);
      }
      return got.reply;
    }

    it('answers ping on the fallback reply topic, and on the MQTT 5 response topic with correlation data', async () => {
      const r = await send('ping', { schema: 1, id: 'p1', args: { echo: 'hi' } });
      expect(r).toMatchObject({ id: 'p1', ok: true, result: { pong: true, echo: 'hi' } });
      if (protocolVersion === 5) {
        const r5 = await send('ping', { schema: 1, id: 'p2' }, true);
        expect(r5).toMatchObject({ id: 'p2', ok: true });
      }
    });

    it('answers every bad request with an error and keeps running', async () => {
      expect((await send('ping', 'not json{')).error?.code).toBe('EDGE_COMMAND_INVALID');
      const noId = await send('ping', { schema: 1 });
      expect(noId).toMatchObject({ id: null, ok: false, error: { code: 'EDGE_COMMAND_INVALID' } });
      expect(noId.error?.message).toContain('/id');
      expect((await send('self-destruct', { schema: 1, id: 'u1' })).error?.code).toBe(
        'EDGE_COMMAND_UNKNOWN',
      );
      const bad = await send('gate-test', { schema: 1, id: 'g0', args: { gateId: 7 } });
      expect(bad.error?.code).toBe('EDGE_COMMAND_INVALID');
      expect(JSON.stringify(bad.error?.details)).toContain('/args/operatorId');
      expect(JSON.stringify(bad.error?.details)).toContain('/args/gateId');
      const expired = await send('ping', {
        schema: 1,
        id: 'e1',
        expiresAt: '2001-01-01T00:00:00Z',
      });
      expect(expired.error?.code).toBe('EDGE_COMMAND_EXPIRED');
      expect(
        (
          await send('targeting-replace', {
            schema: 1,
            id: 't1',
            args: { listVersion: 'v1', entries: [] },
          })
        ).error?.code,
      ).toBe('EDGE_COMMAND_UNSUPPORTED');
      const failed = await send('ct-decision', {
        schema: 1,
        id: 'c1',
        args: { parcelId: 'p', verdict: 'clear', officerId: 'o1', reportId: 'R-1' },
      });
      expect(failed.error).toMatchObject({
        code: 'EDGE_COMMAND_FAILED',
        message: 'parcel already past the diverter',
      });
      const slow = await send('config-put', {
        schema: 1,
        id: 'cp1',
        args: { config: {}, operatorId: 'o1' },
      });
      expect(slow.error?.code).toBe('EDGE_COMMAND_TIMEOUT');
      expect((await send('ping', { schema: 1, id: 'alive' })).ok).toBe(true);
    });

    it('runs a command id once and answers a re-sent id with the same reply', async () => {
      const a = await send('gate-test', {
        schema: 1,
        id: 'g1',
        args: { gateId: 'pass-gate', operatorId: 'tech' },
      });
      const b = await send('gate-test', {
        schema: 1,
        id: 'g1',
        args: { gateId: 'pass-gate', operatorId: 'tech' },
      });
      expect(a).toMatchObject({ ok: true, result: { fired: 'pass-gate' } });
      expect(b).toEqual(a);
      expect(rig.router.counters.duplicates).toBeGreaterThanOrEqual(1);
      // state-changing commands leave an audit record in the outbox
      await waitFor(() =>
        outbox.recent(['command.executed'], 50).some((e) => e.payload.id === 'g1'),
      );
      expect(
        outbox.recent(['command.executed'], 50).filter((e) => e.payload.id === 'g1'),
      ).toHaveLength(1);
    });

    it('returns the configuration with secrets redacted', async () => {
      const r = await send('config-get', { schema: 1, id: 'cfg' });
      const text = JSON.stringify(r.result);
      expect(text).not.toContain('super-secret');
      expect(r.result).toMatchObject({
        config: { uplink: { password: '[redacted]', username: 'gw' } },
      });
    });

    it('replays stored events (already delivered ones too) and rate-limits replays', async () => {
      const got: Array<{ seq: number; replay?: boolean }> = [];
      rig.platform.on('message', (topic, payload) => {
        if (topic.includes('/events/'))
          got.push(JSON.parse(payload.toString()) as { seq: number; replay?: boolean });
      });
      await rig.platform.subscribeAsync(`${BASE}/events/#`, { qos: 1 });
      const r = await send('replay', { schema: 1, id: 'r1', args: { fromSeq: 10, toSeq: 19 } });
      expect(r).toMatchObject({
        ok: true,
        result: { stream: 'events', fromSeq: 10, toSeq: 19, accepted: 10 },
      });
      await waitFor(() => got.filter((e) => e.replay).length >= 10, { what: 'replayed events' });
      expect(got.filter((e) => e.replay).map((e) => e.seq)).toEqual([
        10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
      ]);
      const again = await send('replay', { schema: 1, id: 'r2', args: { fromSeq: 1 } });
      expect(again.error?.code).toBe('EDGE_COMMAND_RATE_LIMITED');
    });
  },
);
