import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The dependency rules of docs/architecture.md, checked on the source's own imports:
 * - the line engine (edge/engine/) is pure: it imports only its own files and the leaves below it;
 * - config/ depends on nothing above it: the engine's types and rules, errors, identifiers;
 * - edge/events/model.ts imports no engine code;
 * - no import cycle between files anywhere in the shipped tree.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHIPPED = ['edge', 'drivers', 'config', 'provisioning'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(join(root, dir));
  } catch {
    return out;
  }
  for (const name of entries) {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) out.push(...sourceFiles(rel));
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g;
const DYNAMIC = /import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** Relative imports of a file, as repository paths of .ts files (`runtime`: no `import type`). */
function importsOf(file: string, runtime = false): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [...text.matchAll(IMPORT), ...text.matchAll(DYNAMIC)]
    .filter((m) => !runtime || !/^\s*(import|export) type\s/.test(m[0]))
    .map((m) => m[1]!);
  return specs.map((s) => {
    const target = normalize(join(dirname(file), s)).replace(/\.js$/, '.ts');
    return target;
  });
}

const files = SHIPPED.flatMap(sourceFiles);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
/** what each file loads when it runs: a cycle of type-only imports costs nothing at run time */
const runtimeGraph = new Map(files.map((f) => [f, importsOf(f, true)]));

function violations(under: string, allowed: readonly string[]): string[] {
  const out: string[] = [];
  for (const [file, deps] of graph) {
    if (!file.startsWith(under)) continue;
    for (const dep of deps)
      if (!allowed.some((a) => dep === a || dep.startsWith(a.endsWith('/') ? a : `${a}/`)))
        out.push(`${file} -> ${dep}`);
  }
  return out;
}

describe('architecture: dependencies point down', () => {
  it('finds the source files (the check itself works)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(graph.get('config/loader.ts')).toContain('config/schema.ts');
  });

  it('the line engine imports only itself and the leaves below it', () => {
    expect(
      violations('edge/engine/', [
        'edge/engine/',
        'edge/errors.ts',
        'edge/clock.ts',
        'edge/identifiers/',
        'edge/events/',
        'edge/targeting/targeting-list.ts',
      ]),
    ).toEqual([]);
  });

  it('config/ imports nothing above it', () => {
    expect(
      violations('config/', ['config/', 'edge/engine/', 'edge/errors.ts', 'edge/identifiers/']),
    ).toEqual([]);
  });

  it('the event model and payload schemas import no engine or service code', () => {
    // two payload schemas live beside their producers; both are leaves (typebox only)
    expect(
      violations('edge/events/', [
        'edge/events/',
        'edge/telemetry/schema.ts',
        'edge/uplink/packet-size.ts',
      ]),
    ).toEqual([]);
    for (const leaf of ['edge/telemetry/schema.ts', 'edge/uplink/packet-size.ts'])
      expect(graph.get(leaf), leaf).toEqual([]);
  });

  it('a module importing from a folder above it is caught', () => {
    graph.set('config/__probe__.ts', ['edge/gate/settings.ts']);
    try {
      expect(violations('config/', ['config/', 'edge/engine/', 'edge/errors.ts'])).toEqual([
        'config/__probe__.ts -> edge/gate/settings.ts',
      ]);
    } finally {
      graph.delete('config/__probe__.ts');
    }
  });

  it('no import cycle between files (at run time)', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'visiting');
      stack.push(f);
      for (const d of runtimeGraph.get(f) ?? []) {
        if (!runtimeGraph.has(d)) continue;
        const s = state.get(d);
        if (s === 'visiting') cycles.push([...stack.slice(stack.indexOf(d)), d].join(' -> '));
        else if (s === undefined) visit(d);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of runtimeGraph.keys()) if (!state.has(f)) visit(f);
    expect(cycles.map((c) => relative('.', c))).toEqual([]);
  });
});
