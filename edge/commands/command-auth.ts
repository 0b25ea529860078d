import type { Logger } from 'pino';
import { pinsDemoKey } from '../../config/command-keys.js';
import { COMMAND_ROLES, type CommandRole } from '../../config/command-security-schema.js';
import type { UplinkConfig } from '../../config/schema.js';
import { EdgeError, isEdgeError, type EdgeErrorCode } from '../errors.js';
import type { InboundMessage } from '../uplink/inbound.js';
import { KeyRing, type PinnedKey } from './command-keys.js';
import type { CommandValidator } from './command-validation.js';
import { jsonDepth } from './json-depth.js';
import {
  decodeHeader,
  NOT_COMPACT,
  splitCompact,
  verifyEd25519,
  type CompactParts,
} from './jws.js';
import { Slices } from '../targeting/slices.js';
import { INLINE_MAX_BYTES, LargeCommandDecoder, type Verified } from './large-command.js';
import type { NonceStore } from './nonce-store.js';
import type { CommandRequest } from './schemas.js';

/**
 * Who may send what: every inbound command passes here before the router looks at it.
 *
 * Unsigned (a JSON request, `{"schema":1,...}`): only read-only commands (ping, config-get) and a
 * replay of at most `unsignedReplayMaxEvents` (checked by the router, which knows the range),
 * at most `maxUnsignedBytes`, nested at most `maxDepth` (counted on the bytes, before parsing).
 *
 * Signed: a JWS in compact serialization (jws.ts) whose payload is the JSON request and whose
 * protected header carries
 *   alg  EdDSA                      kid   a key pinned in uplink.commands.signing.keys
 *   iss  that key's issuer          sub   `<site>/<gateway id>` of this gateway
 *   cmd  the command (topic) name   role  the role the command needs (SIGNED_ROLE)
 *   iat, exp  seconds since 1970, exp - iat <= maxLifetimeS     jti  a one-time nonce
 *   act  (optional) the person on the platform who asked
 * checked in this order: size, the signature over the exact bytes received (before the payload is
 * even decoded), key validity, issuer, expiry, addressee, command, role, nonce (recorded until
 * the command expired, nonce-store.ts). Only then is the payload decoded and parsed. A command
 * over INLINE_MAX_BYTES is decoded on a worker thread (large-command.ts); over
 * WORKER_VERIFY_BYTES its signature is verified there too, first, and its arguments are fetched
 * only after the claims passed here.
 *
 * Retained messages are refused whatever they carry. Every refusal is a CommandRefusal (an
 * EdgeError with the code the reply carries) naming the verified signer when there is one and
 * the unverified claim otherwise, for the audit record. Commands are opened one at a time in
 * arrival order (a later small command never overtakes a large one), yielding to the event loop
 * after every 2 ms of checks (a flood of bad commands does not hold the loop); more than
 * `maxQueued` waiting are dropped (CommandDropped: no reply, counted).
 */

/** The role each signed command needs; `replay` needs it only above unsignedReplayMaxEvents. */
export const SIGNED_ROLE: Readonly<Record<string, CommandRole>> = {
  'targeting-replace': 'targeting',
  'config-put': 'config',
  'ct-decision': 'officer',
  'gate-test': 'maintenance',
  replay: 'replay',
};

/** Commands that may arrive unsigned (replay: a small one, see the router). */
export const UNSIGNED_ALLOWED: ReadonlySet<string> = new Set(['ping', 'config-get', 'replay']);

/** Who signed a command: what the audit records (never the sender's own claim). */
export interface CommandSigner {
  issuer: string;
  keyId: string;
  /** the signed role (checked against the key and the command before anything runs) */
  role: string;
  /** the person on the platform who asked (`act`), as the signer vouches */
  actor: string | null;
  nonce: string;
  issuedAt: string;
  expiresAt: string;
}

export interface OpenedCommand {
  request: CommandRequest;
  signer: CommandSigner | null;
  /** set when the worker thread already validated the arguments and hashed the request */
  decoded?: { args: Record<string, unknown>; hash: string };
}

/** A command refused before it ran, with what the audit needs to know. */
export class CommandRefusal extends EdgeError {
  constructor(
    code: EdgeErrorCode,
    message: string,
    readonly audit: {
      signer?: CommandSigner;
      /** the key id / issuer the sender claimed (not verified) */
      claimed?: { keyId: unknown; issuer: unknown };
      requestId?: string | null;
    } = {},
    details?: unknown,
  ) {
    super(code, message, details === undefined ? undefined : { details });
  }
}

/** The queue of commands waiting to be checked is full: the command is dropped unanswered. */
export class CommandDropped extends Error {}
/** one instance for every drop: a flood must not pay a stack trace per dropped message */
const DROPPED = new CommandDropped('too many commands waiting to be checked');

export interface CommandAuthorityOptions {
  settings: UplinkConfig['commands'];
  /** `<site>/<gateway id>`: the JWS `sub` this gateway accepts */
  subject: string;
  nonces: NonceStore;
  validator: CommandValidator;
  wallMs: () => number;
  log: Logger;
}

const NONCE = /^[A-Za-z0-9_.:-]{16,128}$/;
/**
 * Above this the signature is verified on the worker thread too (the thread pool's one-shot
 * verify copies the input on the event loop first: ~30 ms for 34 MB on a loaded 2-core machine).
 */
const WORKER_VERIFY_BYTES = 4 * 1024 * 1024;

export class CommandAuthority {
  private readonly keys: KeyRing;
  private readonly decoder: LargeCommandDecoder;
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private queuedBytes = 0;
  private readonly slices = new Slices(2);

  constructor(private readonly o: CommandAuthorityOptions) {
    this.keys = new KeyRing(o.settings.signing.keys);
    this.decoder = new LargeCommandDecoder(o.log);
    if (pinsDemoKey(o.settings.signing.keys)) {
      o.log.warn(
        'the DEMO command key (config/examples/demo-command-key.pem, public in the repository) is pinned: anyone can sign commands for this gateway; pin the platform key instead',
      );
    }
  }

  get pinnedKeys(): number {
    return this.keys.size;
  }

  /** Commands waiting to be checked. */
  get backlog(): number {
    return this.queued;
  }

  /**
   * Check one inbound command (in arrival order). Rejects with CommandRefusal (answer it) or
   * CommandDropped (the queue is full: do not answer).
   */
  open(name: string, m: InboundMessage): Promise<OpenedCommand> {
    const bytes = m.payload.length;
    if (this.queued >= this.o.settings.maxQueued || this.queuedBytes + bytes > this.maxQueuedBytes)
      return Promise.reject(DROPPED);
    this.queued++;
    this.queuedBytes += bytes;
    // checks run back to back in one chain: after a few ms of them, one turn for everything else
    const run = this.tail.then(async () => {
      await this.slices.step();
      return this.check(name, m);
    });
    const settled = run.finally(() => {
      this.queued--;
      this.queuedBytes -= bytes;
    });
    this.tail = settled.catch(() => undefined);
    return settled;
  }

  async close(): Promise<void> {
    await this.decoder.close();
  }

  private get maxQueuedBytes(): number {
    return 2 * this.o.settings.maxSignedBytes;
  }

  private async check(name: string, m: InboundMessage): Promise<OpenedCommand> {
    const s = this.o.settings;
    if (m.retain) {
      throw new CommandRefusal(
        'EDGE_COMMAND_RETAINED',
        'a retained command message is refused (it would be delivered again on every subscribe): publish commands with retain false, and clear the retained message on the broker',
      );
    }
    const bytes = trimEnd(m.payload);
    if (bytes.length > s.maxSignedBytes) {
      throw new CommandRefusal(
        'EDGE_COMMAND_TOO_LARGE',
        `command of ${bytes.length} bytes refused unread (largest accepted: ${s.maxSignedBytes})`,
      );
    }
    const first = firstByte(bytes);
    // JSON ({ or [): an unsigned request; anything else must be a compact JWS
    return first === 0x7b || first === 0x5b ? this.unsigned(name, bytes) : this.signed(name, bytes);
  }

  private unsigned(name: string, bytes: Buffer): OpenedCommand {
    const s = this.o.settings;
    if (bytes.length > s.maxUnsignedBytes) {
      throw new CommandRefusal(
        'EDGE_COMMAND_TOO_LARGE',
        `unsigned command of ${bytes.length} bytes refused unread (unsigned commands: at most ${s.maxUnsignedBytes} bytes)`,
      );
    }
    this.checkDepth(bytes);
    if (!UNSIGNED_ALLOWED.has(name) && SIGNED_ROLE[name] !== undefined) {
      throw new CommandRefusal(
        'EDGE_COMMAND_UNSIGNED',
        `'${name}' changes how parcels are handled: it must be signed with a platform key (role ${SIGNED_ROLE[name]})`,
        { requestId: requestIdOf(bytes) },
      );
    }
    return { request: this.o.validator.parse(bytes), signer: null };
  }

  private async signed(name: string, bytes: Buffer): Promise<OpenedCommand> {
    const parts = splitCompact(bytes);
    if (parts === NOT_COMPACT)
      throw refusal(
        'EDGE_COMMAND_INVALID',
        'command is not JSON: neither a JSON request ({"schema":1,...}) nor a signed command (compact JWS)',
      );
    if (typeof parts === 'string') throw refusal('EDGE_COMMAND_SIGNATURE', parts);
    const header = decodeHeader(parts.header);
    if (typeof header === 'string') throw refusal('EDGE_COMMAND_SIGNATURE', header);
    const claimed = { keyId: header.kid, issuer: header.iss };
    if (header.alg !== 'EdDSA')
      throw refusal('EDGE_COMMAND_SIGNATURE', 'alg must be EdDSA (Ed25519)', { claimed });
    if (header.crit !== undefined)
      throw refusal('EDGE_COMMAND_SIGNATURE', 'no crit header extension is understood', {
        claimed,
      });
    const key = typeof header.kid === 'string' ? this.keys.get(header.kid) : undefined;
    if (!key)
      throw refusal('EDGE_COMMAND_SIGNATURE', 'kid names no key pinned on this gateway', {
        claimed,
      });
    const badSignature = () =>
      refusal('EDGE_COMMAND_SIGNATURE', `signature does not verify with key '${key.id}'`, {
        claimed,
      });
    // very large: even verifying would copy tens of MB on the loop; the worker does it all
    if (parts.signingInput.length > WORKER_VERIFY_BYTES)
      return this.large(name, parts, header, key, badSignature, null);
    if (!(await verifyEd25519(parts.signingInput, parts.signature, key.key))) throw badSignature();
    const signer = this.claims(name, header, key);
    if (parts.signingInput.length > INLINE_MAX_BYTES)
      return this.large(name, parts, header, key, badSignature, signer);
    try {
      const json = Buffer.from(parts.payload.toString('latin1'), 'base64url');
      this.checkDepth(json);
      return { request: this.o.validator.parse(json), signer };
    } catch (err) {
      // a signed payload that cannot be read is refused like any other, naming its signer
      if (!isEdgeError(err)) throw err;
      throw new CommandRefusal(err.code, err.message, { signer }, err.details);
    }
  }

  /**
   * A large signed command: signature, decoding and validation on the worker thread (the
   * signature first), the signed claims here before the arguments come back.
   */
  private async large(
    name: string,
    parts: CompactParts,
    header: Record<string, unknown>,
    key: PinnedKey,
    badSignature: () => CommandRefusal,
    /** the claims already checked here (the signature verified on the thread pool) */
    checked: CommandSigner | null,
  ): Promise<OpenedCommand> {
    if (parts.signature.length !== 64) throw badSignature();
    let verified: Verified;
    try {
      verified = await this.decoder.verify({
        name,
        signingInput: parts.signingInput,
        headerLength: parts.header.length,
        signature: parts.signature,
        key: key.key,
        maxDepth: this.o.settings.maxDepth,
      });
    } catch (err) {
      if (isEdgeError(err, 'EDGE_COMMAND_SIGNATURE')) throw badSignature();
      if (!isEdgeError(err)) throw err;
      // signed, but the payload cannot be read: refused naming the signer (claims first)
      const signer = checked ?? this.claims(name, header, key);
      throw new CommandRefusal(err.code, err.message, { signer }, err.details);
    }
    let signer: CommandSigner;
    try {
      signer = checked ?? this.claims(name, header, key);
    } catch (err) {
      verified.drop();
      throw err;
    }
    const d = await verified.rest();
    return { request: d.request, signer, decoded: { args: d.args, hash: d.hash } };
  }

  /** The signed claims of a verified header; the nonce is recorded last. */
  private claims(name: string, h: Record<string, unknown>, key: PinnedKey): CommandSigner {
    const s = this.o.settings.signing;
    const now = this.o.wallMs();
    const skewMs = s.clockSkewS * 1000;
    const iat = h.iat;
    const exp = h.exp;
    const signerOf = (): CommandSigner => ({
      issuer: key.issuer,
      keyId: key.id,
      role: typeof h.role === 'string' ? h.role.slice(0, 32) : '',
      actor: typeof h.act === 'string' ? h.act.slice(0, 128) : null,
      nonce: typeof h.jti === 'string' ? h.jti.slice(0, 128) : '',
      issuedAt: typeof iat === 'number' ? iso(iat) : '',
      expiresAt: typeof exp === 'number' ? iso(exp) : '',
    });
    const fail = (code: EdgeErrorCode, message: string) =>
      new CommandRefusal(code, message, { signer: signerOf() });
    if (key.notAfterMs !== null && now > key.notAfterMs)
      throw fail('EDGE_COMMAND_SIGNATURE', `key '${key.id}' expired (notAfter)`);
    if (key.notBeforeMs !== null && now < key.notBeforeMs)
      throw fail('EDGE_COMMAND_SIGNATURE', `key '${key.id}' is not valid yet (notBefore)`);
    if (h.iss !== key.issuer)
      throw fail('EDGE_COMMAND_SIGNATURE', `iss must be '${key.issuer}' for key '${key.id}'`);
    if (!isSeconds(iat) || !isSeconds(exp))
      throw fail('EDGE_COMMAND_SIGNATURE', 'iat and exp (seconds since 1970) are required');
    if (exp <= iat || exp - iat > s.maxLifetimeS)
      throw fail(
        'EDGE_COMMAND_SIGNATURE',
        `exp must be after iat and at most ${s.maxLifetimeS} s after it (short-lived commands)`,
      );
    if (iat * 1000 - skewMs > now)
      throw fail('EDGE_COMMAND_SIGNATURE', `issued in the future (iat ${iso(iat)})`);
    if (exp * 1000 + skewMs < now)
      throw fail('EDGE_COMMAND_EXPIRED', `signed command expired at ${iso(exp)}`);
    if (h.sub !== this.o.subject)
      throw fail(
        'EDGE_COMMAND_WRONG_GATEWAY',
        `addressed to '${String(h.sub)}', this gateway is '${this.o.subject}'`,
      );
    if (h.cmd !== name)
      throw fail(
        'EDGE_COMMAND_WRONG_GATEWAY',
        `signed for command '${String(h.cmd)}', published as '${name}'`,
      );
    if (typeof h.role !== 'string' || !(COMMAND_ROLES as readonly string[]).includes(h.role))
      throw fail('EDGE_COMMAND_FORBIDDEN', `role must be one of ${COMMAND_ROLES.join(', ')}`);
    const role = h.role as CommandRole;
    if (!key.roles.has(role))
      throw fail('EDGE_COMMAND_FORBIDDEN', `key '${key.id}' may not sign for role '${role}'`);
    const needed = SIGNED_ROLE[name];
    if (needed !== undefined && role !== needed)
      throw fail('EDGE_COMMAND_FORBIDDEN', `'${name}' needs role '${needed}', signed as '${role}'`);
    if (typeof h.jti !== 'string' || !NONCE.test(h.jti))
      throw fail('EDGE_COMMAND_SIGNATURE', 'jti (nonce) must be 16-128 characters [A-Za-z0-9_.:-]');
    if (!this.o.nonces.claim(h.jti, exp * 1000 + skewMs))
      throw fail(
        'EDGE_COMMAND_REPLAYED',
        `nonce ${h.jti} was used before: a command is signed once per sending`,
      );
    return signerOf();
  }

  private checkDepth(json: Buffer): void {
    const max = this.o.settings.maxDepth;
    if (jsonDepth(json, max) > max)
      throw new CommandRefusal(
        'EDGE_COMMAND_TOO_LARGE',
        `command nested deeper than ${max} levels, refused unparsed`,
      );
  }
}

function refusal(
  code: EdgeErrorCode,
  message: string,
  audit: ConstructorParameters<typeof CommandRefusal>[2] = {},
): CommandRefusal {
  return new CommandRefusal(code, message, audit);
}

function isSeconds(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 && v < 1e11;
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** whitespace looked at around a command (a file sent with mosquitto_pub -f ends in a newline) */
const MAX_BLANK = 1024;

/** The payload without trailing whitespace (at most MAX_BLANK bytes of it are looked at). */
function trimEnd(b: Buffer): Buffer {
  let end = b.length;
  const stop = Math.max(0, b.length - MAX_BLANK);
  while (end > stop && (b[end - 1] === 0x0a || b[end - 1] === 0x0d || b[end - 1] === 0x20)) end--;
  return end === b.length ? b : b.subarray(0, end);
}

/** The first byte that is not whitespace among the first MAX_BLANK; -1 when there is none. */
function firstByte(b: Buffer): number {
  const n = Math.min(b.length, MAX_BLANK);
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  }
  return -1;
}

/** The id of a small unsigned request, for the reply to its refusal (null when unreadable). */
function requestIdOf(bytes: Buffer): string | null {
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { id?: unknown };
    return typeof doc.id === 'string' && doc.id.length <= 128 ? doc.id : null;
  } catch {
    return null;
  }
}
