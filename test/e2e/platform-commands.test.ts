import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import type { EdgeEvent } from '../../edge/events/model.js';
import { Gateway } from '../../edge/gateway/gateway.js';
import { silentLogger } from '../../edge/log.js';
import { payloadFor, testCommandKeys } from '../support/command-signing.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

/**
 * The platform's commands against the whole gateway (real Mosquitto, MQTT 3.1.1 replies topic):
 * a remote officer's CT decision, a new targeting list, and an interlocked gate test.
 */
const BASE = 'customs/demo-site/gw-demo-01';

describe('platform commands end to end', () => {
  let broker: MosquittoProcess;
  let platform: MqttClient;
  let gateway: Gateway;
  let dir: string;
  const events: EdgeEvent[] = [];
  const replies = new Map<string, Record<string, any>>();
  let n = 0;

  async function command(
    name: string,
    args: Record<string, unknown>,
  ): Promise<Record<string, any>> {
    const id = `cmd-${++n}`;
    await platform.publishAsync(
      `${BASE}/commands/${name}`,
      payloadFor(name, { schema: 1, id, args }, 'demo-site/gw-demo-01'),
      { qos: 1 },
    );
    return waitFor(() => replies.get(id), { timeoutMs: 15_000, what: `reply to ${name}` });
  }

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = mkdtempSync(join(tmpdir(), 'edge-commands-'));
    const doc = parse(
      readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
    );
    doc.dataDir = dir;
    doc.log = { level: 'silent', pretty: false };
    doc.http.port = 0;
    doc.embeddedBroker.enabled = false;
    doc.uplink.url = broker.url;
    doc.uplink.commands = { signing: { keys: testCommandKeys() } };
    Object.assign(doc.drivers[0], {
      parcelsPerMinute: 120,
      seed: 3,
      suspectRate: 0,
      unknownRate: 0,
      lateVerdictRate: 0,
      missingVerdictRate: 0,
      noReadRate: 0,
      invalidIdRate: 0,
    });
    const config = new ConfigValidator(driverKindSchemas()).parse(doc);
    platform = await connectAsync(broker.url, { clientId: 'platform', clean: true });
    platform.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString());
      if (topic.startsWith(`${BASE}/replies/`)) replies.set(String(body.id), body);
      else if (topic.startsWith(`${BASE}/events/`)) events.push(body as EdgeEvent);
    });
    await platform.subscribeAsync([`${BASE}/replies/#`, `${BASE}/events/#`], { qos: 1 });
    gateway = new Gateway({ config, log: silentLogger(), clock: systemClock, version: 't' });
    await gateway.start();
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await platform?.endAsync();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a remote officer marks a parcel on the line suspect: it goes to inspection', async () => {
    // a parcel that has just been identified is still seconds from the first diverter
    const identified = await waitFor(() => events.find((e) => e.type === 'parcel.identified'), {
      timeoutMs: 20_000,
      what: 'an identified parcel',
    });
    const reply = await command('ct-decision', {
      waybill: identified.payload.code,
      verdict: 'suspect',
      officerId: 'officer-7',
      reportId: 'R-1',
    });
    expect(reply).toMatchObject({
      ok: true,
      result: { parcelId: identified.parcelId, applied: true },
    });
    const final = await waitFor(
      () => {
        const d = events.filter(
          (e) => e.type === 'parcel.decided' && e.parcelId === identified.parcelId,
        );
        return d.length > 0 && d.at(-1);
      },
      { timeoutMs: 20_000, what: 'decision of the parcel' },
    );
    expect(final.payload.lane).toBe('inspection');
    // and it was audited
    await waitFor(
      () =>
        events.find((e) => e.type === 'ct.officer_verdict' && e.payload.officerId === 'officer-7'),
      { what: 'officer verdict event' },
    );
  });

  it('a new targeting list sends every later matching parcel to inspection', async () => {
    const reply = await command('targeting-replace', {
      listVersion: 'L-1',
      operatorId: 'platform',
      entries: [{ ruleId: 'all-rd', pattern: 'RD*' }],
    });
    expect(reply).toMatchObject({ ok: true, result: { listVersion: 'L-1' } });
    const after = events.length;
    const targeted = await waitFor(
      () =>
        events
          .slice(after)
          .find((e) => e.type === 'parcel.decided' && e.payload.ruleId === 'targeting'),
      { timeoutMs: 20_000, what: 'a targeted decision' },
    );
    expect(targeted.payload.lane).toBe('inspection');
  });

  it('a gate test is refused while the line runs, with an error reply', async () => {
    const reply = await command('gate-test', { gateId: 'gate-pass', operatorId: 'tech-1' });
    expect(reply).toMatchObject({ ok: false, error: { code: 'EDGE_GPIO_JOG_REFUSED' } });
  });

  it('an invalid command gets an error reply and nothing breaks', async () => {
    const reply = await command('ct-decision', { verdict: 'maybe' });
    expect(reply.ok).toBe(false);
    expect((await command('ping', {})).ok).toBe(true);
  });
});
