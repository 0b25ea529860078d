import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  stringify,
  type Document,
  type Pair,
} from 'yaml';
import type { ConfigIssue } from './loader.js';
import { isRecord } from './migrations.js';

/**
 * The configuration file as a technician edits it: YAML text with its comments. What the API
 * shows hides every secret (`[redacted]`) but a bare reference (`${env:NAME}`, `${file:PATH}`);
 * what comes back with `[redacted]` gets the file's value at the same place again, and
 * `[redacted]` anywhere else is an error: it is never stored as a password. A change is written
 * into the existing YAML document so comments and layout survive; an unchanged document keeps
 * the file byte for byte.
 */

export const REDACTED = '[redacted]';

/** Keys whose values are secrets (the same list the loader resolves references in). */
const SECRET_KEY = /^(password|passphrase|secret|token|privateKey|key|passwordHash)$/i;
/** A bare reference with no default: safe to show (it names where the secret is, not the secret). */
const BARE_REF = /^\$\{(env|file):[^}:]+\}$/;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

function shown(value: unknown): unknown {
  if (typeof value === 'string' && BARE_REF.test(value)) return value;
  return value === undefined || value === null ? value : REDACTED;
}

function urlWithoutPassword(value: string): string {
  if (!value.includes('@')) return value;
  try {
    const u = new URL(value);
    if (!u.password) return value;
    u.password = REDACTED;
    return u.toString();
  } catch {
    return value;
  }
}

/** A plain document with every secret hidden (bare references kept). */
export function redactDoc(value: unknown, key: string | null = null): unknown {
  if (key !== null && isSecretKey(key) && typeof value !== 'object') return shown(value);
  if (typeof value === 'string') return urlWithoutPassword(value);
  if (Array.isArray(value)) return value.map((v) => redactDoc(v, key));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDoc(v, k);
    return out;
  }
  return value;
}

/** The YAML text with every secret hidden, comments and layout kept. */
export function redactYamlText(text: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return REDACTED; // never echo what could not be understood
  // the hidden values are spliced into the text: every other byte stays as the file has it
  const edits: { start: number; end: number; text: string }[] = [];
  let spliceable = true;
  const visit = (node: unknown, key: string | null) => {
    if (isMap(node)) for (const p of node.items) visit(p.value, keyOf(p));
    else if (isSeq(node)) for (const item of node.items) visit(item, key);
    else if (isScalar(node)) {
      const before = node.value;
      if (key !== null && isSecretKey(key)) node.value = shown(node.value);
      else if (typeof node.value === 'string') node.value = urlWithoutPassword(node.value);
      if (node.value === before) return;
      const text = stringify(node.value).trimEnd();
      if (node.range && !text.includes('\n'))
        edits.push({ start: node.range[0], end: node.range[1], text });
      else spliceable = false;
    }
  };
  visit(doc.contents, null);
  if (!spliceable) return doc.toString();
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

function keyOf(p: Pair): string | null {
  const k: unknown = isScalar(p.key) ? p.key.value : p.key;
  return typeof k === 'string'
    ? k
    : typeof k === 'number' || typeof k === 'boolean'
      ? `${k}`
      : null;
}

/** The item of `list` that `item` stands for: same `id` or `name`, else the same index. */
function counterpart(list: unknown[], item: unknown, index: number): unknown {
  if (isRecord(item)) {
    for (const k of ['id', 'name']) {
      if (typeof item[k] === 'string') {
        const found = list.find((x) => isRecord(x) && x[k] === item[k]);
        if (found !== undefined) return found;
      }
    }
  }
  return list[index];
}

/**
 * Put the file's secrets back where a candidate says `[redacted]` (the same key in the same
 * place, list items matched by id or name). A `[redacted]` without a file value is an issue.
 */
export function restoreRedacted(
  candidate: unknown,
  current: unknown,
): { doc: unknown; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const walk = (v: unknown, cur: unknown, path: string): unknown => {
    if (typeof v === 'string' && v.includes(REDACTED)) {
      if (v === REDACTED && typeof cur === 'string' && cur !== REDACTED) return cur;
      if (typeof cur === 'string' && v === urlWithoutPassword(cur)) return cur;
      issues.push({
        path: path || '/',
        message: `'${REDACTED}' stands for a secret this file does not have here: type the secret or a \${env:NAME} / \${file:PATH} reference`,
      });
      return v;
    }
    if (Array.isArray(v)) {
      const list = Array.isArray(cur) ? (cur as unknown[]) : [];
      return v.map((x, i) => walk(x, counterpart(list, x, i), `${path}/${i}`));
    }
    if (isRecord(v)) {
      const c = isRecord(cur) ? cur : {};
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, c[k], `${path}/${k}`);
      return out;
    }
    return v;
  };
  return { doc: walk(candidate, current, ''), issues };
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * New file text for `doc`, written into the document of `oldText`: unchanged values keep their
 * node (and its comments), removed keys go, new keys are appended. Same document: same text.
 */
export function mergeIntoYaml(oldText: string, doc: unknown): string {
  const yaml = parseDocument(oldText);
  if (yaml.errors.length > 0) return documentText(doc);
  if (deepEqual(yaml.toJS(), doc)) return oldText;
  // only scalars changed (the usual edit): splice their text, every other byte stays as it was
  const edits: { start: number; end: number; text: string }[] = [];
  if (scalarEdits(yaml.contents, doc, edits)) {
    let out = oldText;
    for (const e of edits.sort((a, b) => b.start - a.start))
      out = out.slice(0, e.start) + e.text + out.slice(e.end);
    if (deepEqual(parseDocument(out).toJS(), doc)) return out;
  }
  yaml.contents = update(yaml, yaml.contents, doc) as typeof yaml.contents;
  return yaml.toString();
}

/**
 * The text edits that turn the node into `value` when only scalar values differ (same keys, same
 * sequence lengths); false when the shape changed and the document must be re-written.
 */
function scalarEdits(
  node: unknown,
  value: unknown,
  edits: { start: number; end: number; text: string }[],
): boolean {
  if (isRecord(value) && isMap(node)) {
    const keys = node.items.map(keyOf);
    if (keys.length !== Object.keys(value).length || !keys.every((k) => k !== null && k in value))
      return false;
    return node.items.every((p) => scalarEdits(p.value, value[keyOf(p) as string], edits));
  }
  if (Array.isArray(value) && isSeq(node)) {
    if (node.items.length !== value.length) return false;
    return node.items.every((item, i) => scalarEdits(item, value[i], edits));
  }
  if (isScalar(node) && (value === null || typeof value !== 'object')) {
    if (node.value === value) return true;
    const text = stringify(value).trimEnd();
    if (!node.range || text.includes('\n')) return false;
    edits.push({ start: node.range[0], end: node.range[1], text });
    return true;
  }
  return false;
}

function documentText(doc: unknown): string {
  const d = parseDocument('{}');
  d.contents = d.createNode(doc) as typeof d.contents;
  return d.toString();
}

function update(yaml: Document, node: unknown, value: unknown): unknown {
  if (isRecord(value) && isMap(node)) {
    node.items = node.items.filter((p) => {
      const k = keyOf(p);
      return k !== null && k in value;
    });
    for (const p of node.items) {
      const k = keyOf(p) as string;
      p.value = update(yaml, p.value, value[k]);
    }
    const present = new Set(node.items.map(keyOf));
    for (const [k, v] of Object.entries(value)) {
      if (!present.has(k)) node.items.push(yaml.createPair(k, v));
    }
    return node;
  }
  if (Array.isArray(value) && isSeq(node)) {
    node.items = node.items.slice(0, value.length);
    value.forEach((v, i) => {
      node.items[i] = i < node.items.length ? update(yaml, node.items[i], v) : yaml.createNode(v);
    });
    return node;
  }
  if (isScalar(node) && (value === null || typeof value !== 'object')) {
    if (node.value === value) return node;
    // '[redacted]' had to be quoted; the secret put back is written plain when it can be
    if (node.value === REDACTED) node.type = 'PLAIN';
    node.value = value;
    return node;
  }
  return yaml.createNode(value);
}

/** Put `[redacted]` scalars of edited YAML text back to the file's values (restoreRedacted). */
export function restoreRedactedText(
  text: string,
  currentDoc: unknown,
): { text: string; doc: unknown; issues: ConfigIssue[] } {
  const yaml = parseDocument(text);
  const plain: unknown = yaml.toJS();
  const { doc, issues } = restoreRedacted(plain, currentDoc);
  if (deepEqual(doc, plain)) return { text, doc, issues };
  return { text: mergeIntoYaml(text, doc), doc, issues };
}

export interface LocatedIssue extends ConfigIssue {
  /** 1-based line and column in the YAML text, when the path names a node in it */
  line?: number;
  col?: number;
}

/** Add line and column to issues whose JSON-pointer path names a node in the text. */
export function locateIssues(text: string, issues: readonly ConfigIssue[]): LocatedIssue[] {
  const lines = new LineCounter();
  const yaml = parseDocument(text, { lineCounter: lines });
  return issues.map((issue) => {
    if (!issue.path.startsWith('/')) return issue;
    const segments = issue.path
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .filter((s) => s !== '');
    // the deepest node that exists (a missing property points at its parent)
    for (let n = segments.length; n >= 0; n--) {
      const path = segments.slice(0, n).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      const node: unknown = n === 0 ? yaml.contents : yaml.getIn(path, true);
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      if (range) {
        // a key's value: point at the key of the pair when there is one
        const pos = lines.linePos(keyRangeStart(yaml, path) ?? range[0]);
        return { ...issue, line: pos.line, col: pos.col };
      }
    }
    return issue;
  });
}

function keyRangeStart(yaml: Document, path: (string | number)[]): number | null {
  if (path.length === 0) return null;
  const parent: unknown = path.length === 1 ? yaml.contents : yaml.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return null;
  const last = path[path.length - 1];
  const pair = parent.items.find((p) => keyOf(p) === last);
  const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
  return range ? range[0] : null;
}
