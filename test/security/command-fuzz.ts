import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { signed, TEST_ISSUER, TEST_KID } from '../support/command-signing.js';
import { securityRig, SUBJECT } from './command-rig.js';

/**
 * 100,000 malformed, oversized and deeply nested commands (seeded, reproducible) fed to a command
 * router as the uplink hands them over (a batch per turn of the event loop), with the event loop
 * watched: the fuzz test (command-fuzz.test.ts) and the bench (command-security.bench.ts) share it.
 */

export interface FuzzCommand {
  name: string;
  payload: Buffer;
  retain?: boolean;
}

/** mulberry32: small, seeded, good enough to pick cases */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = [
  'ping',
  'config-get',
  'replay',
  'targeting-replace',
  'config-put',
  'ct-decision',
  'gate-test',
];
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url');

export function* fuzzCommands(n: number, seed = 13): Generator<FuzzCommand> {
  const generate = fuzzMaterial(seed);
  for (let i = 0; i < n; i++) yield generate(i);
}

/**
 * The shared material (random pool, big buffers, a genuine signature), made once before the
 * measurement starts; the returned function makes case i.
 */
export function fuzzMaterial(seed = 13): (i: number) => FuzzCommand {
  const r = prng(seed);
  const int = (max: number) => Math.floor(r() * max);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  // random bytes are slices of one seeded pool: generating cases must cost the loop little, or
  // the harness measures itself
  const pool = Buffer.allocUnsafe(1 << 20);
  for (let i = 0; i < pool.length; i++) pool[i] = int(256);
  const randomBytes = (len: number) => {
    const at = int(pool.length - len);
    return pool.subarray(at, at + len);
  };
  // shared big buffers (made once): oversized and deeply nested cases cost nothing per case
  const oversized = Buffer.alloc(48 * 1024 * 1024 + 1, 'x'); // maxSignedBytes + 1
  const bigB64 = Buffer.alloc(300 * 1024, 'A');
  const deepArrays = Buffer.from('['.repeat(200_000) + ']'.repeat(200_000));
  const deepObjects = Buffer.from('{"a":'.repeat(200_000));
  const genuine = signed(
    'gate-test',
    { schema: 1, id: 'fz', args: { gateId: 'gate-pass', operatorId: 'x' } },
    SUBJECT,
    { ttlS: 300 },
  );
  const [gh, gp] = genuine.split('.') as [string, string, string];
  const header = (over: Record<string, unknown> = {}) =>
    b64(
      JSON.stringify({
        alg: 'EdDSA',
        kid: TEST_KID,
        iss: TEST_ISSUER,
        sub: SUBJECT,
        cmd: 'gate-test',
        role: 'maintenance',
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 60,
        jti: `fuzz-nonce-${int(1e9)}-${int(1e9)}`,
        ...over,
      }),
    );
  return (i: number): FuzzCommand => {
    const name = r() < 0.03 ? `x${'y'.repeat(int(300))}` : pick(NAMES);
    const retain = r() < 0.01;
    const k = r();
    let payload: Buffer;
    if (k < 0.18) payload = randomBytes(int(2000));
    else if (k < 0.3) {
      const text = JSON.stringify({ schema: 1, id: `f${i}`, args: { gateId: 'gate-pass', n: i } });
      payload = Buffer.from(text.slice(0, int(text.length)));
    } else if (k < 0.38) {
      // 17 levels (just over maxDepth) up to 200,000
      const depth = 17 + int(200_000 - 17);
      payload =
        r() < 0.5
          ? deepArrays.subarray(200_000 - depth, 200_000 + depth)
          : deepObjects.subarray(0, depth * 5);
    } else if (k < 0.3802) payload = oversized;
    else if (k < 0.5) {
      payload = Buffer.from(
        `${b64(randomBytes(int(60)))}.${b64(randomBytes(int(200)))}.${b64(randomBytes(int(90)))}`,
      );
    } else if (k < 0.62) {
      // a well-formed header naming the pinned key, a random signature: verified and refused
      payload = Buffer.from(
        `${header({ cmd: name })}.${b64(JSON.stringify({ schema: 1, id: `s${i}` }))}.${b64(randomBytes(64))}`,
      );
    } else if (k < 0.68) {
      // a genuine signature over other bytes (tampered payload or header)
      payload = Buffer.from(
        r() < 0.5
          ? `${gh}.${b64(JSON.stringify({ schema: 1, id: `t${i}`, args: { gateId: 'gate-exception' } }))}.${genuine.split('.')[2]}`
          : `${header()}.${gp}.${genuine.split('.')[2]}`,
      );
    } else if (k < 0.8) {
      payload = Buffer.from(
        JSON.stringify({
          schema: 1,
          id: `u${i}`,
          args: { gateId: 'gate-pass', operatorId: 'evil', listVersion: 'L', entries: [] },
        }),
      );
    } else if (k < 0.82)
      payload = Buffer.from(
        `${'e'.repeat(5000 + int(20_000))}.${b64('{}')}.${b64(randomBytes(64))}`,
      );
    else if (k < 0.83)
      payload = Buffer.concat([
        Buffer.from(`${header()}.`),
        bigB64,
        Buffer.from(`.${b64(randomBytes(64))}`),
      ]);
    else if (k < 0.85)
      payload = Buffer.from(
        '{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},"schema":1,"id":"p"}',
      );
    else if (k < 0.9)
      payload = Buffer.from(
        JSON.stringify({ schema: 1, id: 'x'.repeat(int(400)), expiresAt: 'not a date', args: 7 }),
      );
    else if (k < 0.95)
      payload = Buffer.from(
        `{"schema":1,"id":"n${i}","args":{"echo":"${'\\u0000'.repeat(int(50))}\\ud800"}}`,
      );
    else payload = Buffer.alloc(0);
    return { name, payload, ...(retain ? { retain } : {}) };
  };
}

export interface FuzzResult {
  sent: number;
  answered: number;
  dropped: number;
  /** handle() rejected or threw (it must never): a crash of the command path */
  crashes: number;
  maxLoopStallMs: number;
  loopDelayP99Ms: number;
  elapsedMs: number;
  refusedByCode: Record<string, number>;
  handlersRun: number;
}

/** Feed `n` fuzz commands to a router, `perTurn` per turn of the event loop, and watch the loop. */
export async function runFuzz(n: number, perTurn = 50, seed = 13): Promise<FuzzResult> {
  const rig = securityRig();
  const generate = fuzzMaterial(seed);
  let crashes = 0;
  let maxGap = 0;
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  const pending: Promise<unknown>[] = [];
  let sent = 0;
  for (let i = 0; i < n; i++) {
    const c = generate(i);
    sent++;
    pending.push(
      rig.send(c.name, c.payload, c.retain ? { retain: true } : {}).catch(() => {
        crashes++;
      }),
    );
    // as the uplink hands them over: the messages of one socket read per turn of the loop
    if (sent % perTurn === 0) await nextTurn();
  }
  await Promise.all(pending);
  const elapsedMs = performance.now() - started;
  clearInterval(probe);
  delay.disable();
  const refusedByCode: Record<string, number> = {};
  for (const reply of rig.replies) {
    const code = reply.error?.code ?? 'ok';
    refusedByCode[code] = (refusedByCode[code] ?? 0) + 1;
  }
  if (process.env.FUZZ_DEBUG) console.log(JSON.stringify(rig.router.counters));
  rig.router.stop();
  return {
    sent,
    answered: rig.replies.length,
    dropped: rig.router.counters.dropped,
    crashes,
    maxLoopStallMs: Math.round(maxGap * 10) / 10,
    loopDelayP99Ms: Math.round((delay.percentile(99) / 1e6) * 10) / 10,
    elapsedMs: Math.round(elapsedMs),
    refusedByCode,
    handlersRun: rig.ran.length,
  };
}
