import { describe, expect, it } from 'vitest';
import { makeS10 } from '../../edge/identifiers/s10.js';
import { seededRandom } from '../../drivers/simulated/random.js';
import type { SerialDriverConfig } from '../../drivers/serial/config.js';
import { serialDevice } from '../../drivers/serial/devices.js';
import { buildFramer } from '../../drivers/serial/framing.js';
import type { Frame, Framer } from '../../drivers/serial/framers.js';
import { FrameMonitor } from '../../drivers/serial/monitor.js';
import { SerialPipeline, type PipelineItem } from '../../drivers/serial/pipeline.js';
import { encodeToledo } from '../../drivers/serial/profiles/toledo.js';

/**
 * Fuzz: for every device profile, 1,000,000 frames (valid, mutated, random) straight into the
 * parser, and 1,000,000 framed into one byte stream cut into random reads through the driver's
 * pipeline (framer + profile + signal mapping). Nothing may throw; every rejected frame must be
 * counted; every byte must be accounted for; every untouched valid frame must be accepted.
 */

const N = 1_000_000;
/** frames straight into the parser, and frames in the byte stream (90 % of each are fuzzed) */
const DIRECT_FRAMES = 300_000;
const STREAM_FRAMES = 820_000;
const reconnect = { initialMs: 100, maxMs: 1000, pathPollMs: 100 };
const port = {
  path: '/dev/null',
  baudRate: 9600,
  dataBits: 8 as const,
  parity: 'none' as const,
  stopBits: 1 as const,
  flowControl: 'none' as const,
};

interface Case {
  name: string;
  /** a second framing of a parser already fuzzed in full: a smaller run, for the framer */
  framingOnly?: boolean;
  config: SerialDriverConfig;
  valid: Buffer[];
  /** whole-frame bytes on the wire for a payload */
  wire(payload: Buffer): Buffer;
  /** parser input for a candidate frame (as the framer would hand it over) */
  asFrame(bytes: Buffer): Frame;
}

const textFrame = (bytes: Buffer): Frame => ({
  payload: bytes,
  raw: bytes,
  trailer: bytes.subarray(0, 0),
});
const crlf = (p: Buffer) => Buffer.concat([p, Buffer.from('\r\n')]);
const ascii = (s: string) => Buffer.from(s, 'latin1');

function cases(): Case[] {
  const r = seededRandom(7);
  const int = (n: number) => Math.floor(r() * n);
  const serial = () => String(int(1e8)).padStart(8, '0');
  const common = { port, reconnect, monitorFrames: 16 };
  return [
    {
      name: 'barcode (CR LF)',
      config: {
        ...common,
        id: 'bc',
        kind: 'serial-barcode',
        pattern: '^(?<code>[\\x21-\\x7e]+)$',
        noRead: ['NOREAD', 'NR', '?'],
        multipleRead: 'MULTI',
        noReadStatuses: [],
        heartbeat: { text: 'HB', timeoutMs: 1000 },
        identifiers: {
          s10: true,
          carriers: [{ name: 'sf', pattern: 'SF\\d{12}' }],
          acceptUnmatched: false,
        },
        framing: { type: 'delimiter', delimiter: 'crlf', maxFrameBytes: 64 },
      },
      valid: [
        ...Array.from({ length: 40 }, () => ascii(makeS10('RD', serial(), 'CN'))),
        ...Array.from({ length: 10 }, () =>
          ascii(`SF${serial()}${String(int(1e4)).padStart(4, '0')}`),
        ),
        ...['NOREAD', 'NR', '?', 'HB', 'MULTI'].map(ascii),
      ],
      wire: crlf,
      asFrame: textFrame,
    },
    {
      name: 'barcode (STX/ETX)',
      framingOnly: true,
      config: {
        ...common,
        id: 'bc2',
        kind: 'serial-barcode',
        pattern: '^(?<symbology>[A-Z0-9]+):(?<code>\\S+)$',
        noRead: ['NOREAD'],
        noReadStatuses: [],
        identifiers: { s10: true, carriers: [], acceptUnmatched: false },
        framing: { type: 'stx-etx', maxFrameBytes: 48 },
      },
      valid: Array.from({ length: 50 }, () => ascii(`C128:${makeS10('EE', serial(), 'CN')}`)),
      wire: (p) => Buffer.concat([Buffer.from([2]), p, Buffer.from([3])]),
      asFrame: textFrame,
    },
    {
      name: 'MT-SICS',
      config: {
        ...common,
        id: 'mt',
        kind: 'serial-mt-sics',
        polling: { command: 'SI', intervalMs: 100, timeoutMs: 100, retries: 1 },
        emit: 'every',
        testCommands: ['S'],
      },
      valid: [
        ...Array.from({ length: 40 }, () =>
          ascii(
            `S ${r() < 0.5 ? 'S' : 'D'} ${(r() * 1000 - 10).toFixed(int(4)).padStart(10)} ${['g', 'kg', 'lb', 't', 'oz', 'mg'][int(6)]}`,
          ),
        ),
        ...['S +', 'S -', 'S I', 'ES', 'ET', 'EL'].map(ascii),
      ],
      wire: crlf,
      asFrame: textFrame,
    },
    {
      name: 'Toledo continuous (checksum)',
      config: {
        ...common,
        id: 'tol',
        kind: 'serial-toledo',
        checksum: true,
        emit: 'every',
        silenceTimeoutMs: 1000,
      },
      valid: Array.from({ length: 50 }, () =>
        encodeToledo({
          value: Math.round((r() * 2 - 0.2) * 5000) / 100,
          tare: Math.round(r() * 500) / 100,
          motion: r() < 0.3,
          net: r() < 0.5,
          kg: r() < 0.8,
          outOfRange: r() < 0.05,
          checksum: true,
        }),
      ),
      wire: (p) => p,
      asFrame: (raw) => ({ raw, payload: raw.subarray(1, 16), trailer: raw.subarray(17) }),
    },
    {
      name: 'CT alarm line',
      config: {
        ...common,
        id: 'ct',
        kind: 'serial-ct-alarm',
        pattern:
          '^(?<scanId>[A-Z0-9-]+);(?<verdict>[A-Z_]+);(?<imageId>[A-Z0-9-]*)(?:;(?<ageMs>\\d+))?$',
        verdicts: { clear: ['NO_ALARM'], suspect: ['ALARM'], unknown: ['UNKNOWN'] },
        scanToLineMs: 0,
        heartbeat: { text: 'ALIVE', timeoutMs: 1000 },
      },
      valid: [
        ...Array.from({ length: 50 }, (_, i) =>
          ascii(
            `S-${i};${['ALARM', 'NO_ALARM', 'UNKNOWN', 'ODD'][int(4)]};IMG-${i}${r() < 0.5 ? `;${int(60_000)}` : ''}`,
          ),
        ),
        ascii('ALIVE'),
      ],
      wire: crlf,
      asFrame: textFrame,
    },
  ];
}

/** A candidate: an untouched valid frame, a mutated one, or random bytes. */
function makeGenerator(c: Case, random: () => number, validShare: number) {
  const int = (n: number) => Math.floor(random() * n);
  const scratch = Buffer.alloc(512);
  const validWire = c.valid.map((v) => c.wire(v));
  return {
    /** returns [bytes, untouchedValidIndex or -1]; bytes are in a shared scratch buffer */
    next(asWire: boolean): [Buffer, number] {
      const pick = int(c.valid.length);
      const base = asWire ? (validWire[pick] as Buffer) : (c.valid[pick] as Buffer);
      const roll = random();
      if (roll < validShare) return [base, pick];
      let len: number;
      if (roll < validShare + (1 - validShare) * 0.7) {
        base.copy(scratch);
        len = base.length;
        for (let k = 1 + int(3); k > 0; k--) {
          const op = int(5);
          const at = int(Math.max(1, len));
          if (op === 0) scratch[at] = (scratch[at] ?? 0) ^ (1 << int(8));
          else if (op === 1 && len > 0) {
            scratch.copy(scratch, at, at + 1, len);
            len--;
          } else if (op === 2 && len < 400) {
            scratch.copy(scratch, at + 1, at, len);
            scratch[at] = int(256);
            len++;
          } else if (op === 3) len = int(len + 1);
          else if (len < 400) {
            scratch[len++] = [0x02, 0x03, 0x0d, 0x0a][int(4)] as number;
          }
        }
      } else {
        len = int(random() < 0.95 ? 40 : 300);
        for (let i = 0; i < len; i++) scratch[i] = random() < 0.7 ? 0x20 + int(95) : int(256);
      }
      return [scratch.subarray(0, len), -1];
    },
  };
}

describe('serial fuzz', () => {
  for (const c of cases()) {
    const share = c.framingOnly ? 0.2 : 1;
    const title = c.framingOnly
      ? `${c.name}: ${(STREAM_FRAMES * share).toLocaleString('en')} frames through the framer`
      : `${c.name}: at least ${N.toLocaleString('en')} random and mutated frames, nothing throws, every reject counted`;
    it(title, () => {
      const DIRECT = Math.round(DIRECT_FRAMES * share);
      const STREAM = Math.round(STREAM_FRAMES * share);
      const device = serialDevice(c.config);
      let fuzzed = 0;

      // 1. every valid template parses
      for (const v of c.valid) expect(device.profile.parse(c.asFrame(v)).ok).toBe(true);

      // 2. frames straight into the parser (the framer's max size does not cut them here)
      const direct = makeGenerator(c, seededRandom(11), 0.1);
      let ok = 0;
      let rejected = 0;
      for (let i = 0; i < DIRECT; i++) {
        const [bytes, validIndex] = direct.next(false);
        if (validIndex < 0) fuzzed++;
        const r = device.profile.parse(c.asFrame(bytes));
        if (r.ok) {
          ok++;
          device.signals(r.value, 'fuzz', i);
        } else rejected++;
        if (validIndex >= 0 && !r.ok)
          throw new Error(`valid frame rejected: ${bytes.toString('hex')}`);
      }
      expect(ok + rejected).toBe(DIRECT);

      // 3. frames framed on the wire, one byte stream cut into random reads, through the
      //    driver's pipeline (framer + profile + monitor) and the signal mapping
      const framer: Framer = buildFramer(device.framing, c.config.id);
      const pipeline = new SerialPipeline(framer, device.profile, new FrameMonitor(16));
      const random = seededRandom(23);
      const gen = makeGenerator(c, random, 0.1);
      const stream = Buffer.alloc(1 << 20);
      const items: PipelineItem<unknown>[] = [];
      let used = 0;
      let signals = 0;
      let parsed = 0;
      let accepted = 0;
      const feed = (final: boolean) => {
        let at = 0;
        while (at < used) {
          if (!final && used - at < 4096) break;
          const n = Math.min(used - at, 1 + Math.floor(random() * 4096));
          pipeline.ingest(stream.subarray(at, at + n), 0, 0, items);
          at += n;
        }
        stream.copy(stream, 0, at, used);
        used -= at;
        for (const item of items) {
          parsed++;
          if (item.result.ok) {
            accepted++;
            signals += device.signals(item.result.value, 'fuzz', 0).length;
          }
        }
        items.length = 0;
      };
      for (let i = 0; i < STREAM; i++) {
        const [bytes, validIndex] = gen.next(true);
        if (validIndex < 0) fuzzed++;
        bytes.copy(stream, used);
        used += bytes.length;
        if (used > stream.length - 1024) feed(false);
      }
      feed(true);
      const s = pipeline.stats();
      const f = framer.stats;
      // every byte accounted for: in frames, discarded, or waiting for the rest of a frame
      expect(f.bytesIn).toBe(f.frameBytes + f.discardedBytes + framer.buffered);
      // every frame the framer produced was parsed: accepted, or rejected and counted
      expect(parsed).toBe(f.frames);
      expect(s.accepted).toBe(accepted);
      expect(s.rejected).toBe(f.rejected + (f.frames - accepted));
      expect(Object.values(s.rejectReasons).reduce((a, b) => a + b, 0)).toBe(s.rejected);
      expect(accepted).toBeGreaterThan(STREAM * 0.05);
      expect(signals).toBeGreaterThan(0);
      if (!c.framingOnly) expect(fuzzed).toBeGreaterThanOrEqual(N);
    });
  }
});
