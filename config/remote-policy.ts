import type { ConfigIssue } from './secrets.js';
import { isRecord } from './migrations.js';

/**
 * What a configuration sent by the platform (the signed config-put command) may change. Users,
 * bind addresses, the uplink endpoint and its credentials, the pinned command keys, the gates
 * section (safety I/O: pins, polarity, safe values, E-stop and other inputs, watchdog, late-fire
 * and safe-state limits) and the line's geometry need an on-site change: the local file, or
 * PUT /api/config by an admin at the technician console. A remote document may leave those out
 * (they are kept from the local file) or repeat them unchanged; a difference is refused.
 *
 * A remote document may not bring `${env:...}` / `${file:...}` references either: a reference is
 * accepted only where the local file has the very same one (a driver password kept as it is).
 * Otherwise a remote document could copy a local secret into a field it controls (the uplink of
 * an attacker's broker with `password: ${env:EDGE_TECH_PASSWORD}`).
 */

interface Protected {
  path: string;
  /** sub-paths the platform may change */
  except?: readonly string[];
  why: string;
}

export const ON_SITE_ONLY: readonly Protected[] = [
  { path: '/gateway', why: 'the gateway identity (its command subject and topics)' },
  { path: '/dataDir', why: 'where records are stored' },
  { path: '/http', why: 'HTTP users, roles, bind address and certificate' },
  { path: '/embeddedBroker', why: 'the embedded broker bind address and credentials' },
  { path: '/uplink/url', why: 'the broker the gateway trusts' },
  { path: '/uplink/username', why: 'broker credentials' },
  { path: '/uplink/password', why: 'broker credentials' },
  { path: '/uplink/tls', why: 'broker certificates' },
  { path: '/uplink/topicRoot', why: 'the topics commands come from' },
  { path: '/uplink/commands', why: 'pinned command keys and command limits' },
  { path: '/uplink/mode', why: 'the protocol and topics commands come from (sparkplug: none)' },
  { path: '/uplink/sparkplug', why: 'the Sparkplug identity and primary host' },
  { path: '/outbox/file', why: 'where records are stored' },
  { path: '/inspector/storeFile', why: 'where records are stored' },
  { path: '/inspector/decisionRoles', why: 'which HTTP roles may release or seize parcels' },
  {
    path: '/gates',
    why: 'safety I/O: pins, polarity, safe values, E-stop, watchdog, late-fire and safe-state limits',
  },
  {
    path: '/line',
    except: ['/line/rules'],
    why: 'lane geometry, belt speed, device positions and timing (only line.rules may change remotely)',
  },
];

const REF = /\$\{(env|file):/;

/**
 * The document to apply for a remote configuration: `candidate` with every on-site-only part
 * taken from `current` (the local file as written, references unresolved), and the issues when
 * the candidate tried to change one or brought a reference of its own.
 */
export function remoteConfig(
  current: Record<string, unknown>,
  candidate: Record<string, unknown>,
): { doc: Record<string, unknown>; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  walkStrings(candidate, '', (path, value) => {
    if (REF.test(value) && valueAt(current, path) !== value)
      issues.push({
        path,
        message:
          'a configuration from the platform may not bring ${env:} / ${file:} references (only ones the local file already has, unchanged): change secrets on site',
      });
  });
  const doc = structuredClone(candidate);
  for (const p of ON_SITE_ONLY) {
    for (const path of changedPaths(current, candidate, p)) {
      issues.push({
        path,
        message: `cannot be changed by the platform (${p.why}): change it on site, in the local file or with PUT /api/config as an admin`,
      });
    }
    keepLocal(doc, current, p);
  }
  return { doc, issues };
}

/** Paths under `p` where the candidate differs from the current file (exceptions skipped). */
function changedPaths(
  current: Record<string, unknown>,
  candidate: Record<string, unknown>,
  p: Protected,
): string[] {
  const theirs = valueAt(candidate, p.path);
  if (theirs === undefined) return []; // left out: kept from the local file
  const ours = valueAt(current, p.path);
  const except = p.except ?? [];
  if (except.length === 0) return sameJson(ours, theirs) ? [] : [p.path];
  // compare key by key, skipping the exceptions
  if (!isRecord(ours) || !isRecord(theirs)) return sameJson(ours, theirs) ? [] : [p.path];
  const keys = new Set([...Object.keys(ours), ...Object.keys(theirs)]);
  const changed: string[] = [];
  for (const k of keys) {
    const path = `${p.path}/${k}`;
    if (except.includes(path) || theirs[k] === undefined) continue;
    if (!sameJson(ours[k], theirs[k])) changed.push(path);
  }
  return changed;
}

/** Replace the on-site-only part of `doc` with the local file's (or remove it if it has none). */
function keepLocal(doc: Record<string, unknown>, current: Record<string, unknown>, p: Protected) {
  const except = p.except ?? [];
  if (except.length === 0) {
    setAt(doc, p.path, structuredClone(valueAt(current, p.path)));
    return;
  }
  const ours = valueAt(current, p.path);
  const kept: Record<string, unknown> = isRecord(ours) ? structuredClone(ours) : {};
  const theirs = valueAt(doc, p.path);
  for (const path of except) {
    const key = path.slice(p.path.length + 1);
    if (isRecord(theirs) && theirs[key] !== undefined) kept[key] = theirs[key];
  }
  setAt(doc, p.path, isRecord(ours) || isRecord(theirs) ? kept : undefined);
}

function segments(path: string): string[] {
  return path.split('/').slice(1);
}

function valueAt(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const s of segments(path)) {
    if (Array.isArray(v)) v = v[Number(s)];
    else if (isRecord(v)) v = v[s];
    else return undefined;
  }
  return v;
}

function setAt(doc: Record<string, unknown>, path: string, value: unknown): void {
  const segs = segments(path);
  let v: Record<string, unknown> = doc;
  for (const s of segs.slice(0, -1)) {
    if (!isRecord(v[s])) {
      if (value === undefined) return;
      v[s] = {};
    }
    v = v[s] as Record<string, unknown>;
  }
  const last = segs[segs.length - 1]!;
  if (value === undefined) delete v[last];
  else v[last] = value;
}

function walkStrings(v: unknown, path: string, visit: (path: string, value: string) => void) {
  if (typeof v === 'string') visit(path || '/', v);
  else if (Array.isArray(v)) v.forEach((x, i) => walkStrings(x, `${path}/${i}`, visit));
  else if (isRecord(v))
    for (const [k, x] of Object.entries(v)) walkStrings(x, `${path}/${k}`, visit);
}

/** Equal as JSON values (object key order ignored). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => sameJson(a[k], b[k]));
  }
  return false;
}
