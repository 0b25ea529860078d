/**
 * Benchmark runner: `npm run bench -- --json FILE [--only NAME] [--quick]`.
 * Runs every test/bench/*.bench.ts (each default-exports a Bench) and writes all figures as
 * `"name": { "value": n, "unit": "..." }` to FILE (and prints them).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Bench, Figures } from './figures.js';

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    only: { type: 'string', multiple: true },
    quick: { type: 'boolean', default: false },
  },
});

const dir = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => !values.only || values.only.some((o) => f.includes(o)))
  .sort();

const all: Figures = {};
const failures: string[] = [];
for (const file of files) {
  process.stderr.write(`bench: ${file}\n`);
  const started = Date.now();
  try {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { default: Bench };
    const figures = await mod.default({ quick: values.quick ?? false });
    Object.assign(all, figures);
    process.stderr.write(
      `bench: ${file} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  } catch (err) {
    failures.push(file);
    process.stderr.write(`bench: ${file} FAILED: ${(err as Error).stack ?? String(err)}\n`);
  }
}
const out = JSON.stringify(all, null, 2);
if (values.json) writeFileSync(values.json, out + '\n');
process.stdout.write(out + '\n');
process.exit(failures.length > 0 ? 1 : 0);
