import { describe, expect, it } from 'vitest';
import { between, seededRandom } from '../../drivers/simulated/random.js';
import { makeS10 } from '../../edge/identifiers/s10.js';
import type { CtVerdict, IdKind, ParcelIds } from '../../edge/engine/types.js';
import { Harness } from './helpers.js';

/**
 * Property: CT and officer verdicts arriving in random order and after random delays, each with a
 * random subset of its parcel's identifiers (some with a scan time, some without, some naming two
 * different parcels), never land on a parcel whose identifiers contradict them, and nothing that
 * is not clear reaches pass without an `alarm.escaped`.
 *
 * "Contradict" is judged against the truth of the simulated line: a verdict attached to a parcel
 * may not carry, for any kind of identifier the line knew for that parcel at the time (its read
 * waybill, its PLC tracking id, its induction count, the CT ids learned from earlier verdicts),
 * a value other than the parcel's real one.
 */

interface Truth {
  ids: Required<Pick<ParcelIds, 'waybill' | 'ctItem' | 'image' | 'induction'>> & ParcelIds;
  read: 'valid' | 'noread' | 'invalid';
  tagged: boolean;
  machine: CtVerdict;
  final: CtVerdict;
}

const KINDS: IdKind[] = ['waybill', 'ctItem', 'plcTracking', 'image'];

function runSeed(seed: number, parcels: number) {
  const r = seededRandom(seed);
  const h = new Harness();
  const truths: Truth[] = [];
  const steps: { at: number; run: () => void }[] = [];
  const scanOwner = new Map<string, number>();
  let t0 = 0;
  for (let i = 0; i < parcels; i++) {
    t0 += between(r, 750, 1600);
    const start = Math.round(t0);
    const z = r();
    const read = z < 0.8 ? 'valid' : z < 0.9 ? 'noread' : 'invalid';
    const tagged = r() < 0.7;
    const v = r();
    const final: CtVerdict = v < 0.75 ? 'clear' : v < 0.9 ? 'suspect' : 'unknown';
    // the machine clears some parcels the officer then finds suspect
    const machine: CtVerdict = final === 'suspect' && r() < 0.3 ? 'clear' : final;
    const truth: Truth = {
      ids: {
        waybill: makeS10('RR', String(10_000_000 + seed * 1000 + i).slice(-8), 'CN'),
        ctItem: `CT${seed}-${i}`,
        image: `IMG${seed}-${i}`,
        induction: String(i + 1),
        ...(tagged ? { plcTracking: String(5000 + i) } : {}),
      },
      read,
      tagged,
      machine,
      final,
    };
    truths.push(truth);
    steps.push({ at: start, run: () => h.in(pe(start, 'leading'), start) });
    steps.push({ at: start + 400, run: () => h.in(pe(start + 400, 'trailing'), start + 400) });
    if (tagged) {
      // the PLC's id travels apart from the photo-eye edge: either may come first
      const at = start + Math.round(between(r, -30, 30));
      steps.push({
        at: Math.max(at, start - 30),
        run: () => h.in(tag(at, truth), Math.max(at, 0)),
      });
    }
    const readAt = start + 1000;
    steps.push({
      at: readAt,
      run: () =>
        read === 'valid'
          ? h.read(readAt, truth.ids.waybill)
          : read === 'invalid'
            ? h.read(readAt, truth.ids.waybill.replace(/\d(?=[A-Z]{2}$)/, 'X'), false)
            : h.read(readAt, null),
    });
    const inTunnel = start + 2200;
    const verdicts: { verdict: CtVerdict; ids: ParcelIds; scanned: number | null }[] = [
      { verdict: machine, ids: subset(r, truth.ids), scanned: r() < 0.5 ? inTunnel : null },
    ];
    if (machine !== final || r() < 0.3)
      verdicts.push({ verdict: final, ids: subset(r, truth.ids), scanned: null });
    // a verdict naming two parcels: this parcel's waybill and another parcel's PLC tracking id
    if (read === 'valid' && tagged && i > 0 && r() < 0.15) {
      const other = truths[Math.floor(r() * i)] as Truth;
      verdicts.push({
        verdict: r() < 0.5 ? 'clear' : 'suspect',
        ids: { waybill: truth.ids.waybill, plcTracking: other.ids.plcTracking ?? '999999' },
        scanned: null,
      });
    }
    verdicts.forEach((x, k) => {
      const at = start + 2400 + Math.round(between(r, 200, 9000));
      const scanId = `V${i}-${k}`;
      scanOwner.set(scanId, i);
      steps.push({
        at,
        run: () =>
          h.in(
            {
              type: 'ctVerdict',
              deviceId: 'ct-1',
              scannedAtMono: x.scanned,
              verdict: x.verdict,
              scanId,
              imageId: x.ids.image ?? null,
              ids: x.ids,
            },
            at,
          ),
      });
    });
  }
  steps.sort((a, b) => a.at - b.at);
  for (const s of steps) {
    advance(h, s.at);
    s.run();
  }
  advance(h, t0 + 40_000);
  return { h, truths, scanOwner };
}

function pe(at: number, edge: 'leading' | 'trailing') {
  return { type: 'photoEye' as const, deviceId: 'pe-infeed', atMono: at, edge };
}
function tag(at: number, t: Truth) {
  return {
    type: 'parcelId' as const,
    deviceId: 'plc-1',
    atMono: at,
    kind: 'plcTracking' as const,
    value: t.ids.plcTracking ?? '',
  };
}
function subset(r: () => number, ids: ParcelIds): ParcelIds {
  const out: ParcelIds = {};
  for (const k of KINDS) if (ids[k] !== undefined && r() < 0.5) out[k] = ids[k];
  return out;
}
function advance(h: Harness, until: number): void {
  for (let next = h.engine.nextWakeMono(); next !== null && next <= until;) {
    h.at(next);
    const after = h.engine.nextWakeMono();
    if (after === next) break;
    next = after;
  }
  h.at(until);
}

const ATTACH = new Set(['ct.verdict', 'ct.verdict_revised', 'ct.duplicate', 'ct.ambiguous']);

describe('correlation by identifier (property, simulated time)', () => {
  it('random verdict order, delay and identifier subsets: never on a parcel they contradict; nothing unsafe passes unalarmed', () => {
    const counts: Record<string, number> = {};
    const violations: string[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const { h, truths, scanOwner } = runSeed(seed, 60);
      const index = (parcelId: string | null) => Number(parcelId?.slice(1)) - 1;
      const known = truths.map(() => new Set<IdKind>(['induction']));
      const lastLane = new Map<number, string>();
      const escaped = new Set<number>();
      const alarmed = new Set<number>();
      for (const e of h.events()) {
        counts[e.type] = (counts[e.type] ?? 0) + 1;
        const i = index(e.parcelId);
        const t = truths[i];
        if (e.type === 'parcel.identified') known[i]?.add('waybill');
        if (e.type === 'parcel.tagged') known[i]?.add('plcTracking');
        if (e.type === 'parcel.decided') lastLane.set(i, String(e.payload.lane));
        if (e.type === 'alarm.escaped') escaped.add(i);
        // a verdict that could not be placed is alarmed: the inspectors hear of it
        if (e.type.startsWith('alarm.ct-'))
          alarmed.add(scanOwner.get(String(e.payload.scanId)) ?? -1);
        if (!ATTACH.has(e.type) || !t) continue;
        if (e.type === 'ct.ambiguous' && e.payload.applied !== true) continue;
        const ids = e.payload.ids as ParcelIds;
        for (const k of KINDS) {
          if (ids[k] !== undefined && known[i]?.has(k) && ids[k] !== t.ids[k])
            violations.push(
              `seed ${seed}: ${e.type} on ${e.parcelId} with ${k} ${ids[k]} (is ${t.ids[k]})`,
            );
        }
        for (const k of KINDS) if (ids[k] !== undefined) known[i]?.add(k);
        counts[`placed.${String(e.payload.placedBy)}`] =
          (counts[`placed.${String(e.payload.placedBy)}`] ?? 0) + 1;
      }
      truths.forEach((t, i) => {
        if (lastLane.get(i) !== 'pass') return;
        const safe = t.final === 'clear' && t.read === 'valid';
        if (!safe && !escaped.has(i) && !alarmed.has(i))
          violations.push(`seed ${seed}: P${i + 1} (${t.final}, ${t.read}) reached pass unalarmed`);
        if (!safe) counts.escapedAlarmed = (counts.escapedAlarmed ?? 0) + 1;
      });
    }
    if (process.env.PROP_DEBUG) console.log(counts);
    expect(violations.slice(0, 5)).toEqual([]);
    // the run exercised every path
    expect(counts['placed.identifier']).toBeGreaterThan(500);
    expect(counts['placed.position']).toBeGreaterThan(50);
    expect(counts['ct.identifier_conflict']).toBeGreaterThan(20);
    expect(counts['ct.unmatched']).toBeGreaterThan(20);
    expect(counts['ct.after_departure']).toBeGreaterThan(20);
    expect(counts['alarm.escaped']).toBeGreaterThan(0);
  });
});
