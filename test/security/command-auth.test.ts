import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clocks.js';
import { argsHash } from '../../edge/commands/command-ids.js';
import { generateCommandKey, signCommand } from '../../edge/commands/command-signer.js';
import { NonceStore } from '../../edge/commands/nonce-store.js';
import { silentLogger } from '../../edge/log.js';
import {
  signed,
  TEST_ISSUER,
  TEST_KID,
  TEST_PRIVATE_KEY,
  testCommandKeys,
} from '../support/command-signing.js';
import { plain, securityRig, SUBJECT } from './command-rig.js';

/**
 * Who may change how parcels are sorted: every state-changing command carries a signature from
 * a pinned platform key, for this gateway, with its role, unexpired, with a fresh nonce. Each
 * refusal is answered with its code and audited (`command.refused`), and nothing runs.
 */

const GATE = { gateId: 'gate-pass', operatorId: 'tech-1' };
const LIST = { listVersion: 'L-9', entries: [], operatorId: 'claims-to-be-admin' };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('signed commands', () => {
  it('an unsigned command that changes sorting is refused, answered, audited, and never runs', async () => {
    const rig = securityRig();
    for (const [name, args] of [
      ['targeting-replace', LIST],
      ['config-put', { config: {}, operatorId: 'x' }],
      ['ct-decision', { waybill: 'RD1', verdict: 'clear', reportId: 'R', officerId: 'made-up' }],
      ['gate-test', GATE],
    ] as const) {
      const reply = await rig.send(name, plain(`u-${name}`, args));
      expect(reply).toMatchObject({
        id: `u-${name}`,
        ok: false,
        error: { code: 'EDGE_COMMAND_UNSIGNED' },
      });
    }
    expect(rig.ran).toEqual([]);
    expect(rig.refusals().map((r) => r.code)).toEqual(Array(4).fill('EDGE_COMMAND_UNSIGNED'));
    expect(rig.router.counters.refused).toBe(4);
    // read-only commands stay unsigned
    expect(await rig.send('ping', plain('p1'))).toMatchObject({ ok: true });
    expect(await rig.send('config-get', plain('g1'))).toMatchObject({ ok: true });
  });

  it('a signed command runs, and the audit names the signer, not the sender’s own claim', async () => {
    const rig = securityRig();
    const reply = await rig.send(
      'targeting-replace',
      signed('targeting-replace', { schema: 1, id: 's1', args: LIST }, SUBJECT, {
        actor: 'risk-officer-3',
      }),
    );
    expect(reply).toMatchObject({ ok: true, result: { ran: 'targeting-replace' } });
    expect(rig.ran[0]?.ctx).toMatchObject({
      actor: `${TEST_ISSUER}/${TEST_KID}:risk-officer-3`,
      signer: { issuer: TEST_ISSUER, keyId: TEST_KID, role: 'targeting' },
    });
    expect(rig.executed()[0]).toMatchObject({
      id: 's1',
      ok: true,
      signer: {
        issuer: TEST_ISSUER,
        keyId: TEST_KID,
        role: 'targeting',
        actor: 'risk-officer-3',
      },
    });
  });

  it('refuses a forged, tampered, unknown-key or alg-none signature and records the claim as unverified', async () => {
    const rig = securityRig();
    const good = signed('gate-test', { schema: 1, id: 'g1', args: GATE }, SUBJECT);
    const [h, p, sig] = good.split('.') as [string, string, string];
    // the payload changed after signing (another gate)
    const tampered = `${h}.${Buffer.from(JSON.stringify({ schema: 1, id: 'g1', args: { ...GATE, gateId: 'gate-exception' } })).toString('base64url')}.${sig}`;
    // a key of the attacker's own, claiming the pinned key id
    const forged = signCommand(
      { schema: 1, id: 'g2', args: GATE },
      {
        privateKey: generateCommandKey().privatePem,
        keyId: TEST_KID,
        issuer: TEST_ISSUER,
        subject: SUBJECT,
        command: 'gate-test',
      },
    );
    const unknownKid = signed('gate-test', { schema: 1, id: 'g3', args: GATE }, SUBJECT, {
      keyId: 'nobody',
    });
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: TEST_KID })).toString('base64url')}.${p}.`;
    for (const [payload, why] of [
      [tampered, /does not verify/],
      [forged, /does not verify/],
      [unknownKid, /no key pinned/],
      [none, /malformed signature|alg must be EdDSA/],
    ] as const) {
      const reply = await rig.send('gate-test', payload);
      expect(reply).toMatchObject({ ok: false, error: { code: 'EDGE_COMMAND_SIGNATURE' } });
      expect(reply?.error?.message).toMatch(why);
    }
    expect(rig.ran).toEqual([]);
    const audited = rig.refusals();
    expect(audited).toHaveLength(4);
    expect(audited[0]).toMatchObject({
      code: 'EDGE_COMMAND_SIGNATURE',
      signer: null,
      claimedUnverified: { keyId: TEST_KID, issuer: TEST_ISSUER },
    });
  });

  it('refuses expired, too long-lived, future, wrongly addressed and wrong-topic commands', async () => {
    const clock = new ManualClock(0, Date.UTC(2026, 5, 1));
    const rig = securityRig({ clock });
    const now = clock.wallMs();
    const req = (id: string) => ({ schema: 1, id, args: GATE });
    const cases: [string, string, RegExp][] = [
      [
        signed('gate-test', req('e1'), SUBJECT, { nowMs: now - 120_000, ttlS: 60 }),
        'EDGE_COMMAND_EXPIRED',
        /expired/,
      ],
      [
        signed('gate-test', req('e2'), SUBJECT, { nowMs: now, ttlS: 3600 }),
        'EDGE_COMMAND_SIGNATURE',
        /at most 300 s/,
      ],
      [
        signed('gate-test', req('e3'), SUBJECT, { nowMs: now + 600_000 }),
        'EDGE_COMMAND_SIGNATURE',
        /future/,
      ],
      [
        signed('gate-test', req('e4'), 'site-s/gw-other', { nowMs: now }),
        'EDGE_COMMAND_WRONG_GATEWAY',
        /addressed to 'site-s\/gw-other'/,
      ],
      [
        // signed for a harmless command, published on the gate-test topic
        signed('ping', req('e5'), SUBJECT, { nowMs: now }),
        'EDGE_COMMAND_WRONG_GATEWAY',
        /signed for command 'ping'/,
      ],
      [
        signed('gate-test', req('e6'), SUBJECT, { nowMs: now, header: { exp: undefined } }),
        'EDGE_COMMAND_SIGNATURE',
        /iat and exp/,
      ],
    ];
    for (const [payload, code, why] of cases) {
      const reply = await rig.send('gate-test', payload);
      expect(reply?.error?.code).toBe(code);
      expect(reply?.error?.message).toMatch(why);
    }
    expect(rig.ran).toEqual([]);
    // the signature verified: the audit names the signer although the command was refused
    expect(rig.refusals()[3]).toMatchObject({
      code: 'EDGE_COMMAND_WRONG_GATEWAY',
      signer: { keyId: TEST_KID, issuer: TEST_ISSUER },
    });
  });

  it('a key signs only for its roles, and a command only runs with its own role', async () => {
    const rig = securityRig({ keys: testCommandKeys(['officer']) });
    const targeting = await rig.send(
      'targeting-replace',
      signed('targeting-replace', { schema: 1, id: 'r1', args: LIST }, SUBJECT, {
        role: 'targeting',
      }),
    );
    expect(targeting?.error).toMatchObject({
      code: 'EDGE_COMMAND_FORBIDDEN',
      message: expect.stringMatching(/may not sign for role 'targeting'/),
    });
    const asOfficer = await rig.send(
      'targeting-replace',
      signed('targeting-replace', { schema: 1, id: 'r2', args: LIST }, SUBJECT, {
        role: 'officer',
      }),
    );
    expect(asOfficer?.error).toMatchObject({
      code: 'EDGE_COMMAND_FORBIDDEN',
      message: expect.stringMatching(/needs role 'targeting'/),
    });
    expect(rig.ran).toEqual([]);
  });

  it('a captured command sent again is refused as a replay, also by the next process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nonces-'));
    dirs.push(dir);
    const file = join(dir, 'command-nonces.sqlite');
    const open = () => new NonceStore({ file, wallMs: Date.now, log: silentLogger() });
    const first = open();
    const rig = securityRig({ nonces: first });
    const captured = signed('gate-test', { schema: 1, id: 'g1', args: GATE }, SUBJECT);
    expect(await rig.send('gate-test', captured)).toMatchObject({ ok: true });
    expect(await rig.send('gate-test', captured)).toMatchObject({
      ok: false,
      error: { code: 'EDGE_COMMAND_REPLAYED' },
    });
    first.close();
    const second = open();
    const next = securityRig({ nonces: second });
    expect(await next.send('gate-test', captured)).toMatchObject({
      error: { code: 'EDGE_COMMAND_REPLAYED' },
    });
    // the platform re-sends a command id with a new signature: answered from the id's reply
    const again = await rig.send(
      'gate-test',
      signed('gate-test', { schema: 1, id: 'g1', args: GATE }, SUBJECT),
    );
    expect(again).toMatchObject({ id: 'g1', ok: true });
    expect(rig.ran).toHaveLength(1);
    second.close();
  });

  it('rotation: two pinned keys verify at once; a key past its notAfter is refused', async () => {
    const next = generateCommandKey();
    const keys = [
      ...testCommandKeys(),
      {
        id: 'platform-2',
        issuer: TEST_ISSUER,
        publicKey: next.publicKey,
        roles: ['maintenance' as const],
      },
    ];
    const rig = securityRig({ keys });
    const withNew = signCommand(
      { schema: 1, id: 'n1', args: GATE },
      {
        privateKey: next.privatePem,
        keyId: 'platform-2',
        issuer: TEST_ISSUER,
        subject: SUBJECT,
        command: 'gate-test',
      },
    );
    expect(await rig.send('gate-test', withNew)).toMatchObject({ ok: true });
    expect(
      await rig.send(
        'gate-test',
        signed('gate-test', { schema: 1, id: 'o1', args: GATE }, SUBJECT),
      ),
    ).toMatchObject({ ok: true });
    const retired = securityRig({
      keys: [{ ...testCommandKeys()[0]!, notAfter: '2020-01-01T00:00:00Z' }],
    });
    expect(
      await retired.send(
        'gate-test',
        signed('gate-test', { schema: 1, id: 'o2', args: GATE }, SUBJECT),
      ),
    ).toMatchObject({ error: { code: 'EDGE_COMMAND_SIGNATURE', message: /expired \(notAfter\)/ } });
    // the key file of the platform is not the only thing that signs: the private PEM stays there
    expect(TEST_PRIVATE_KEY).toMatch(/BEGIN PRIVATE KEY/);
  });

  it('refuses retained, oversized and deeply nested commands before parsing them', async () => {
    const rig = securityRig({ commands: { maxSignedBytes: 65_536, maxUnsignedBytes: 2048 } });
    const retained = await rig.send('ping', plain('r1'), { retain: true });
    expect(retained?.error?.code).toBe('EDGE_COMMAND_RETAINED');
    const big = await rig.send('ping', Buffer.alloc(70_000, 0x7b));
    expect(big?.error).toMatchObject({ code: 'EDGE_COMMAND_TOO_LARGE', message: /refused unread/ });
    const bigUnsigned = await rig.send('ping', plain('b1', { echo: 'x'.repeat(2500) }));
    expect(bigUnsigned?.error?.code).toBe('EDGE_COMMAND_TOO_LARGE');
    const deep = await rig.send('ping', '['.repeat(1000) + ']'.repeat(1000));
    expect(deep?.error).toMatchObject({ code: 'EDGE_COMMAND_TOO_LARGE', message: /nested deeper/ });
    // nesting inside a signed payload is counted too
    const deepArgs: Record<string, unknown> = {};
    let at = deepArgs;
    for (let i = 0; i < 40; i++) at = at.x = {};
    const signedDeep = await rig.send(
      'gate-test',
      signed('gate-test', { schema: 1, id: 'd1', args: deepArgs }, SUBJECT),
    );
    expect(signedDeep?.error?.code).toBe('EDGE_COMMAND_TOO_LARGE');
    expect(rig.refusals().find((r) => r.code === 'EDGE_COMMAND_RETAINED')).toMatchObject({
      retained: true,
    });
    expect(rig.ran).toEqual([]);
  });

  it('a replay of more than unsignedReplayMaxEvents needs a signature', async () => {
    const rig = securityRig({ commands: { unsignedReplayMaxEvents: 100 } });
    const small = await rig.send('replay', plain('r1', { fromSeq: 1, toSeq: 100 }));
    expect(small).toMatchObject({ ok: true, result: { accepted: 100 } });
    const large = await rig.send('replay', plain('r2', { fromSeq: 1, toSeq: 101 }));
    expect(large?.error).toMatchObject({ code: 'EDGE_COMMAND_UNSIGNED', message: /101 events/ });
    const signedLarge = await rig.send(
      'replay',
      signed('replay', { schema: 1, id: 'r3', args: { fromSeq: 1, toSeq: 5000 } }, SUBJECT),
    );
    expect(signedLarge).toMatchObject({ ok: true, result: { accepted: 5000 } });
  });

  it('a large signed list is decoded off the event loop and arrives whole, validated and hashed', async () => {
    const rig = securityRig();
    const entries = Array.from({ length: 20_000 }, (_, i) => ({
      ruleId: `r-${i}`,
      waybill: `RD${String(i).padStart(8, '0')}5CN`,
    }));
    const request = { schema: 1 as const, id: 'big-1', args: { listVersion: 'L-big', entries } };
    const payload = signed('targeting-replace', request, SUBJECT);
    expect(payload.length).toBeGreaterThan(256 * 1024); // above INLINE_MAX_BYTES: the worker path
    const reply = await rig.send('targeting-replace', payload);
    expect(reply).toMatchObject({ ok: true });
    const got = rig.ran[0]?.args as { entries: unknown[]; listVersion: string };
    expect(got.listVersion).toBe('L-big');
    expect(got.entries).toEqual(entries);
    // the same id re-sent (new signature) is answered from the cache: the hash matched
    const again = await rig.send(
      'targeting-replace',
      signed('targeting-replace', request, SUBJECT),
    );
    expect(again).toEqual(reply);
    expect(rig.ran).toHaveLength(1);
    expect(argsHash(request)).toMatch(/^[0-9a-f]{64}$/);
    // invalid arguments found on the worker come back as the usual error
    const bad = await rig.send(
      'targeting-replace',
      signed(
        'targeting-replace',
        { schema: 1, id: 'big-2', args: { listVersion: 'L-bad', entries: [...entries, { x: 1 }] } },
        SUBJECT,
      ),
    );
    expect(bad?.error?.code).toBe('EDGE_COMMAND_INVALID');
    rig.router.stop();
  });

  it('above 4 MiB the worker verifies the signature first; claims are checked before the arguments come back', async () => {
    const rig = securityRig();
    const entries = Array.from({ length: 120_000 }, (_, i) => ({
      ruleId: `rule-${i}`,
      waybill: `RD${String(i).padStart(8, '0')}5CN`,
    }));
    const request = { schema: 1, id: 'huge-1', args: { listVersion: 'L-huge', entries } };
    const good = signed('targeting-replace', request, SUBJECT);
    expect(good.length).toBeGreaterThan(4 * 1024 * 1024);
    // the signature over other bytes: refused by the worker before anything is decoded
    const [h, p, sig] = good.split('.') as [string, string, string];
    const flipped = `${h}.${p.slice(0, -8)}AAAAAAAA.${sig}`;
    expect((await rig.send('targeting-replace', flipped))?.error?.code).toBe(
      'EDGE_COMMAND_SIGNATURE',
    );
    // a genuine but expired one: the worker verified it, the claims refuse it
    const old = signed('targeting-replace', { ...request, id: 'huge-0' }, SUBJECT, {
      nowMs: Date.now() - 3600_000,
    });
    expect((await rig.send('targeting-replace', old))?.error?.code).toBe('EDGE_COMMAND_EXPIRED');
    expect(rig.ran).toEqual([]);
    const reply = await rig.send('targeting-replace', good);
    expect(reply).toMatchObject({ id: 'huge-1', ok: true });
    expect((rig.ran[0]?.args as { entries: unknown[] }).entries).toHaveLength(120_000);
    expect(rig.refusals().map((r) => r.code)).toEqual([
      'EDGE_COMMAND_SIGNATURE',
      'EDGE_COMMAND_EXPIRED',
    ]);
    rig.router.stop();
  }, 60_000);

  it('more commands waiting than maxQueued are dropped unanswered and counted', async () => {
    const rig = securityRig({ commands: { maxQueued: 10 } });
    const big = signed(
      'targeting-replace',
      {
        schema: 1,
        id: 'q0',
        args: {
          listVersion: 'Lq',
          entries: Array.from({ length: 15_000 }, (_, i) => ({
            ruleId: `r${i}`,
            waybill: `W${i}`,
          })),
        },
      },
      SUBJECT,
    );
    const all = [rig.send('targeting-replace', big)];
    for (let i = 0; i < 30; i++) all.push(rig.send('ping', plain(`q${i + 1}`)));
    const replies = await Promise.all(all);
    const dropped = replies.filter((r) => r === null).length;
    expect(dropped).toBeGreaterThan(0);
    expect(rig.router.counters.dropped).toBe(dropped);
    expect(rig.replies).toHaveLength(31 - dropped);
    rig.router.stop();
  });
});
