import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/**
 * Builds the technician console (edge/ui, Preact + CodeMirror) into dist/ui: one minified,
 * content-hashed script and style, the page, and a gzip of each (served as is). Run by
 * `npm run build:ui` (part of `npm run build`, and of `npm start` via prestart).
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ConsoleBuild {
  outDir: string;
  files: { name: string; bytes: number; gzipBytes: number }[];
  /** everything the console can load */
  gzipKb: number;
  /** what the first page needs (page, entry script, style): CodeMirror comes later */
  initialGzipKb: number;
}

export async function buildConsole(outDir = join(root, 'dist', 'ui')): Promise<ConsoleBuild> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: { app: join(root, 'edge', 'ui', 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    // the config editor (CodeMirror) is its own chunk, loaded when that page opens
    splitting: true,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => relative(outDir, join(root, p)));
  const script = outputs.find((p) => /assets\/app-[^/]*\.js$/.test(p));
  const style = outputs.find((p) => p.endsWith('.css'));
  if (!script) throw new Error('console build produced no script');
  const page = readFileSync(join(root, 'edge', 'ui', 'index.html'), 'utf8')
    .replace('%SCRIPT%', `/${script}`)
    .replace('%STYLE%', style ? `<link rel="stylesheet" href="/${style}">` : '');
  writeFileSync(join(outDir, 'index.html'), page);
  const files = ['index.html', ...outputs].map((name) => {
    const body = readFileSync(join(outDir, name));
    const gz = gzipSync(body, { level: 9 });
    writeFileSync(join(outDir, `${name}.gz`), gz);
    return { name, bytes: body.length, gzipBytes: gz.length };
  });
  const gzipKb = Math.round((files.reduce((s, f) => s + f.gzipBytes, 0) / 1024) * 10) / 10;
  // the entry and what it imports statically (dynamic imports load later)
  const entryKey = Object.keys(result.metafile.outputs).find((k) => k.endsWith(script));
  const staticImports = new Set(
    (entryKey ? result.metafile.outputs[entryKey]!.imports : [])
      .filter((i) => i.kind === 'import-statement')
      .map((i) => relative(outDir, join(root, i.path))),
  );
  const initial = files.filter((f) => !f.name.includes('chunk-') || staticImports.has(f.name));
  const initialGzipKb = Math.round((initial.reduce((s, f) => s + f.gzipBytes, 0) / 1024) * 10) / 10;
  return { outDir, files, gzipKb, initialGzipKb };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildConsole().then(
    (b) => {
      for (const f of b.files) console.log(`  ${f.name}  ${f.bytes} B  (gzip ${f.gzipBytes} B)`);
      console.log(
        `console built in ${relative(process.cwd(), b.outDir)}: ${b.gzipKb} kB gzipped (first page ${b.initialGzipKb} kB)`,
      );
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
