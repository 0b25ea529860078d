import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type IClientPublishOptions, type MqttClient } from 'mqtt';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIVER_KINDS } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import { generateCommandKey, signCommand } from '../../edge/commands/command-signer.js';
import type { CommandReply } from '../../edge/commands/schemas.js';
import type { EdgeEvent } from '../../edge/events/model.js';
import { GatewayHost } from '../../edge/gateway/host.js';
import { silentLogger } from '../../edge/log.js';
import { signed, TEST_ISSUER, TEST_KID, testCommandKeys } from '../support/command-signing.js';
import { startMosquitto, writePasswordFile, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

/**
 * The attacks of issue 13, each against the whole gateway on the simulated line over a real
 * Mosquitto: once with an anonymous broker (the attacker needs nothing but network access), once
 * with broker logins (the attacker holds a broker account of its own: broker authentication alone
 * is not what protects the line). Each attack is refused with an error reply and a
 * `command.refused` audit event, and nothing changes: targeting list, configuration, parcel
 * lanes, gates.
 *
 * The line runs with no machine CT verdict ever arriving (missingVerdictRate 1), so every parcel
 * must go to inspection: a forged clear that worked would show as a pass decision.
 */
const SUBJECT = 'demo-site/gw-demo-01';
const BASE = `customs/${SUBJECT}`;

describe.each([
  { mode: 'anonymous broker', auth: false },
  { mode: 'broker with logins', auth: true },
])('attacks over MQTT ($mode)', ({ auth }) => {
  let broker: MosquittoProcess;
  let host: GatewayHost;
  let platform: MqttClient;
  let attacker: MqttClient;
  let dir: string;
  let file: string;
  const events: EdgeEvent[] = [];
  const replies = new Map<string, CommandReply>();
  const logins = {
    gateway: 'gateway-broker-pass',
    platform: 'platform-broker-pass',
    attacker: 'attacker-broker-pass',
  };

  const gateway = () => host.gateway!;
  const refusedAudits = () =>
    gateway()
      .outbox!.recent(['command.refused'], 500)
      .map((e) => e.payload);

  /** Publish a command (MQTT 5, own response topic) and wait for its reply. */
  async function send(
    client: MqttClient,
    name: string,
    payload: string | Buffer,
    opts: IClientPublishOptions = {},
  ): Promise<CommandReply> {
    const correlation = randomUUID();
    await client.publishAsync(`${BASE}/commands/${name}`, payload, {
      qos: 1,
      ...opts,
      properties: {
        responseTopic: `test/inbox/${client.options.clientId}`,
        correlationData: Buffer.from(correlation),
      },
    });
    return waitFor(() => replies.get(correlation), { timeoutMs: 20_000, what: `reply to ${name}` });
  }

  async function client(name: 'platform' | 'attacker'): Promise<MqttClient> {
    const c = await connectAsync(broker.url, {
      clientId: `${name}-${auth ? 'auth' : 'anon'}`,
      protocolVersion: 5,
      clean: true,
      ...(auth ? { username: name, password: logins[name] } : {}),
    });
    c.on('message', (topic, payload, packet) => {
      const corr = packet.properties?.correlationData?.toString();
      if (topic.startsWith('test/inbox/') && corr) {
        replies.set(corr, JSON.parse(payload.toString()) as CommandReply);
      } else if (name === 'platform' && topic.startsWith(`${BASE}/events/`)) {
        events.push(JSON.parse(payload.toString()) as EdgeEvent);
      }
    });
    await c.subscribeAsync(`test/inbox/${c.options.clientId}`, { qos: 1 });
    return c;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edge-attacks-'));
    broker = await startMosquitto(
      auth
        ? {
            allowAnonymous: false,
            extraConfig: [`password_file ${writePasswordFile(dir, logins)}`],
          }
        : {},
    );
    // a command left retained on the broker: every new subscriber would get it
    const early = await connectAsync(broker.url, {
      clientId: 'early',
      protocolVersion: 5,
      ...(auth ? { username: 'attacker', password: logins.attacker } : {}),
    });
    await early.publishAsync(
      `${BASE}/commands/targeting-replace`,
      signed(
        'targeting-replace',
        { schema: 1, id: 'kept', args: { listVersion: 'L-kept', entries: [] } },
        SUBJECT,
        { ttlS: 300 },
      ),
      { qos: 1, retain: true },
    );
    await early.endAsync();
    file = join(dir, 'gateway.yaml');
    const doc = parse(
      readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
    ) as Record<string, any>;
    doc.dataDir = join(dir, 'data');
    doc.log = { level: 'silent', pretty: false };
    doc.http.port = 0;
    doc.http.users = [{ name: 'boss', role: 'admin', password: 'boss-password' }];
    doc.embeddedBroker.enabled = false;
    doc.uplink.url = broker.url;
    doc.uplink.protocolVersion = 5;
    if (auth) Object.assign(doc.uplink, { username: 'gateway', password: logins.gateway });
    doc.uplink.commands = { signing: { keys: testCommandKeys() } };
    Object.assign(doc.drivers[0], {
      seed: 13,
      parcelsPerMinute: 120,
      missingVerdictRate: 1,
      suspectRate: 0,
      unknownRate: 0,
      lateVerdictRate: 0,
      noReadRate: 0,
      invalidIdRate: 0,
      targetedRate: 0,
    });
    writeFileSync(file, stringify(doc));
    host = new GatewayHost({
      file,
      driverKinds: DRIVER_KINDS,
      log: silentLogger(),
      clock: systemClock,
      version: 't',
      secrets: { env: {}, readFile: () => '' },
    });
    await host.start();
    platform = await client('platform');
    await platform.subscribeAsync(`${BASE}/events/#`, { qos: 1 });
    attacker = await client('attacker');
    await waitFor(() => gateway().uplink?.connected, { timeoutMs: 20_000, what: 'uplink' });
    // the platform's own list, signed: what the attacker will try to replace
    const first = await send(
      platform,
      'targeting-replace',
      signed(
        'targeting-replace',
        {
          schema: 1,
          id: 'L-1',
          args: { listVersion: 'L-1', entries: [{ ruleId: 'rd', pattern: 'RD*' }] },
        },
        SUBJECT,
      ),
    );
    expect(first).toMatchObject({ ok: true });
  }, 90_000);

  afterAll(async () => {
    await platform?.publishAsync(`${BASE}/commands/targeting-replace`, '', { retain: true });
    await platform?.endAsync();
    await attacker?.endAsync();
    await host?.stop();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const targetingVersion = () =>
    (gateway().health() as { engine: { targetingVersion: string | null } }).engine.targetingVersion;

  it('an empty targeting list from the attacker: unsigned, forged, or replayed, refused', async () => {
    const list = { listVersion: 'L-evil', entries: [], operatorId: 'admin' };
    const unsigned = await send(
      attacker,
      'targeting-replace',
      JSON.stringify({ schema: 1, id: 'evil-1', args: list }),
    );
    expect(unsigned).toMatchObject({ ok: false, error: { code: 'EDGE_COMMAND_UNSIGNED' } });
    // signed with a key of the attacker's own, claiming the platform's key id
    const forged = signCommand(
      { schema: 1, id: 'evil-2', args: list },
      {
        privateKey: generateCommandKey().privatePem,
        keyId: TEST_KID,
        issuer: TEST_ISSUER,
        subject: SUBJECT,
        command: 'targeting-replace',
      },
    );
    expect((await send(attacker, 'targeting-replace', forged)).error?.code).toBe(
      'EDGE_COMMAND_SIGNATURE',
    );
    // a genuine command captured on the wire and sent again
    const captured = signed(
      'targeting-replace',
      {
        schema: 1,
        id: 'L-2',
        args: { listVersion: 'L-2', entries: [{ ruleId: 'rd', pattern: 'RD*' }] },
      },
      SUBJECT,
    );
    expect(await send(platform, 'targeting-replace', captured)).toMatchObject({ ok: true });
    expect((await send(attacker, 'targeting-replace', captured)).error?.code).toBe(
      'EDGE_COMMAND_REPLAYED',
    );
    expect(targetingVersion()).toBe('L-2');
    await waitFor(
      () =>
        ['EDGE_COMMAND_UNSIGNED', 'EDGE_COMMAND_SIGNATURE', 'EDGE_COMMAND_REPLAYED'].every((c) =>
          refusedAudits().some((a) => a.code === c && a.command === 'targeting-replace'),
        ),
      { what: 'refusal audit events' },
    );
    // the audit names what was verified, and the forger's claim only as unverified
    expect(refusedAudits().find((a) => a.code === 'EDGE_COMMAND_SIGNATURE')).toMatchObject({
      signer: null,
      claimedUnverified: { keyId: TEST_KID },
    });
  });

  it('a config that adds an admin and points the uplink at the attacker: refused, nothing written', async () => {
    const before = readFileSync(file, 'utf8');
    const evil = host.current() as Record<string, any>;
    evil.http.users.push({ name: 'intruder', role: 'admin', password: 'intruder-password' });
    evil.uplink.url = 'mqtt://attacker.example:1883';
    evil.uplink.password = '${env:EDGE_TECH_PASSWORD}';
    const request = { schema: 1, id: 'cfg-evil', args: { config: evil, operatorId: 'x' } };
    const unsigned = await send(attacker, 'config-put', JSON.stringify(request));
    expect(unsigned.error?.code).toBe('EDGE_COMMAND_UNSIGNED');
    // even the platform's own signature cannot make those changes remotely
    const remote = await send(platform, 'config-put', signed('config-put', request, SUBJECT));
    expect(remote).toMatchObject({ ok: false, error: { code: 'EDGE_COMMAND_FAILED' } });
    const paths = (remote.error?.details as { path: string }[]).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['/http', '/uplink/url', '/uplink/password']));
    expect(readFileSync(file, 'utf8')).toBe(before);
    await waitFor(
      () =>
        refusedAudits().some(
          (a) => a.command === 'config-put' && a.code === 'EDGE_COMMAND_UNSIGNED',
        ) &&
        gateway()
          .outbox!.recent(['audit'], 200)
          .some((e) => e.payload.action === 'config.put' && e.payload.result === 'rejected'),
      { what: 'config-put refusals audited' },
    );
    const login = await fetch(`${gateway().httpAddress}/api/config`, {
      headers: {
        authorization: `Basic ${Buffer.from('intruder:intruder-password').toString('base64')}`,
      },
    });
    expect(login.status).toBe(401);
  });

  it('a forged officer clear from a made-up officer: refused, no parcel goes to pass', async () => {
    const identified = await waitFor(
      () => events.filter((e) => e.type === 'parcel.identified').at(-1),
      { timeoutMs: 30_000, what: 'an identified parcel' },
    );
    const clear = {
      waybill: identified.payload.code,
      verdict: 'clear',
      officerId: 'officer-nobody',
      reportId: 'R-made-up',
    };
    const unsigned = await send(
      attacker,
      'ct-decision',
      JSON.stringify({ schema: 1, id: 'ct-evil', args: clear }),
    );
    expect(unsigned.error?.code).toBe('EDGE_COMMAND_UNSIGNED');
    // signed, but naming a CT record the parcel does not have: not bound to the evidence
    const unbound = await send(
      platform,
      'ct-decision',
      signed('ct-decision', { schema: 1, id: 'ct-2', args: clear }, SUBJECT),
    );
    expect(unbound).toMatchObject({ ok: false, error: { code: 'EDGE_COMMAND_EVIDENCE' } });
    const executed = () =>
      gateway()
        .outbox!.recent(['command.executed'], 500)
        .map((e) => e.payload);
    await waitFor(
      () =>
        refusedAudits().some(
          (a) => a.command === 'ct-decision' && a.code === 'EDGE_COMMAND_UNSIGNED',
        ) && executed().some((a) => a.id === 'ct-2' && a.error === 'EDGE_COMMAND_EVIDENCE'),
      { what: 'officer-clear refusals audited' },
    );
    // the signed attempt is audited with who signed it
    expect(executed().find((a) => a.id === 'ct-2')).toMatchObject({
      ok: false,
      signer: { issuer: TEST_ISSUER, keyId: TEST_KID, role: 'officer' },
    });
    const final = await waitFor(
      () =>
        events
          .filter((e) => e.type === 'parcel.decided' && e.parcelId === identified.parcelId)
          .at(-1),
      { timeoutMs: 30_000, what: 'the parcel decided' },
    );
    expect(final.payload.lane).toBe('inspection');
    expect(events.filter((e) => e.type === 'parcel.decided' && e.payload.lane === 'pass')).toEqual(
      [],
    );
  });

  it('a retained command left on the broker before the gateway started: refused on delivery', async () => {
    // (published retained in beforeAll, before the gateway subscribed)
    await waitFor(
      () => refusedAudits().find((a) => a.code === 'EDGE_COMMAND_RETAINED' && a.retained === true),
      { what: 'retained refusal audited' },
    );
    expect(gateway().runner?.engine.state.line).toBe('running');
    expect(targetingVersion()).not.toBe('L-kept');
  });

  it('oversized and deeply nested commands are refused unread; the gate controller stays armed', async () => {
    // built with native repeat: building them in JS would stall this process (the gateway's)
    const deep = Buffer.alloc(4 * 1024 * 1024, '[');
    const list = Buffer.from(
      `{"schema":1,"id":"huge","args":{"listVersion":"L-huge","entries":[${'{"ruleId":"rule-000001","waybill":"RD000000005CN"},'.repeat(260_000)}{"ruleId":"r","waybill":"W"}]}}`,
    );
    expect(list.length).toBeGreaterThan(12 * 1024 * 1024);
    for (const [name, payload] of [
      ['ping', deep],
      ['targeting-replace', list],
    ] as const) {
      const reply = await send(attacker, name, payload);
      expect(reply.error?.code).toBe('EDGE_COMMAND_TOO_LARGE');
    }
    expect(gateway().gateLink?.gateState).toBe('armed');
    expect(targetingVersion()).toBe('L-2');
    await waitFor(
      () =>
        refusedAudits().filter(
          (a) => a.code === 'EDGE_COMMAND_TOO_LARGE' && Number(a.bytes) > 4_000_000,
        ).length >= 2,
      { what: 'oversize refusals audited' },
    );
  });

  it('hand-firing the pass gate while parcels are tracked before it: refused, whatever the source', async () => {
    const runner = gateway().runner!;
    const lineState = (state: 'stopped' | 'running') =>
      runner.handle({
        type: 'lineState',
        deviceId: 'test',
        atMono: systemClock.monoMs(),
        state,
      });
    lineState('stopped');
    await waitFor(() => runner.parcelsBeforeGate('gate-pass') > 0, {
      what: 'parcels before the gate',
    });
    const fires = () =>
      gateway()
        .outbox!.recent(['gate.fired'], 2000)
        .filter((e) => e.parcelId === null).length;
    const handFiresBefore = fires();
    const test = { gateId: 'gate-pass', pulseMs: 2000, operatorId: 'tech-1' };
    expect(
      (await send(attacker, 'gate-test', JSON.stringify({ schema: 1, id: 'gt-evil', args: test })))
        .error?.code,
    ).toBe('EDGE_COMMAND_UNSIGNED');
    const signedTest = await send(
      platform,
      'gate-test',
      signed('gate-test', { schema: 1, id: 'gt-1', args: test }, SUBJECT),
    );
    expect(signedTest.error).toMatchObject({
      code: 'EDGE_GPIO_JOG_REFUSED',
      message: expect.stringMatching(/tracked that have not passed gate-pass/),
    });
    // any other path to the output meets the same guard
    await expect(gateway().gateLink!.jogFire('gate-pass', 100)).rejects.toThrow(
      /have not passed gate-pass/,
    );
    expect(fires()).toBe(handFiresBefore);
    await waitFor(
      () =>
        refusedAudits().some(
          (a) => a.command === 'gate-test' && a.code === 'EDGE_COMMAND_UNSIGNED',
        ) &&
        gateway()
          .outbox!.recent(['command.executed'], 500)
          .some((e) => e.payload.id === 'gt-1' && e.payload.error === 'EDGE_GPIO_JOG_REFUSED'),
      { what: 'gate-test refusals audited' },
    );
    lineState('running');
    // and over the whole run, no parcel went to pass (no machine verdict ever arrived)
    expect(events.filter((e) => e.type === 'parcel.decided' && e.payload.lane === 'pass')).toEqual(
      [],
    );
  });

  if (auth) {
    it('the broker itself refuses a client without a login', async () => {
      await expect(
        connectAsync(broker.url, { clientId: 'nobody', protocolVersion: 5, reconnectPeriod: 0 }),
      ).rejects.toThrow();
    });
  }
});
