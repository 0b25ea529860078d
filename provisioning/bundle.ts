/**
 * The production bundle (`npm run build` writes it to dist/bundle/): the gateway and its
 * gate-controller process as a few ESM files built by esbuild from the TypeScript sources.
 *
 * Why: on a Raspberry Pi core, Node spends most of a cold start finding, reading and compiling
 * modules one file at a time (typebox alone is ~370 files, fastify, mqtt, yaml, ajv another
 * ~450). One file per entry plus shared chunks cuts the gateway's start-up CPU by about a third
 * (docs/install.md, "Start-up on a slow CPU"). What stays outside, loaded from node_modules:
 * native addons, node-opcua (loaded only when an OPC UA driver is configured), serialport,
 * pino (its transports resolve worker files by path) and the development-only pino-pretty.
 *
 * The gate controller is forked by path: edge/gate/controller-launch.ts resolves it relative to
 * its own module, so its bundled entry is placed at that same relative path (read from the
 * source) and every chunk sits at the bundle's top level. The large-command worker thread
 * (edge/commands/large-command-worker.ts) is an entry of its own at the top level, where
 * large-command.ts looks for it.
 *
 * Run: `node dist/provisioning/bundle.js [outdir]` (after tsc), or `bundleGateway()` from code.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configValidatorsModule } from './config-validators.js';

export const BUNDLE_EXTERNALS = [
  'better-sqlite3',
  'onoff',
  'epoll',
  'serialport',
  '@serialport/*',
  'unix-dgram',
  'node-opcua',
  'node-opcua-*',
  'pino',
  'pino-pretty',
  'esbuild',
  // serves its static files from its own folder (__dirname)
  '@fastify/swagger-ui',
];

/** The repository root (this file is provisioning/bundle.ts or dist/provisioning/bundle.js). */
export function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'edge'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('repository root not found (no package.json next to edge/)');
}

function findFile(dir: string, name: string): string | null {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(path, name);
      if (found) return found;
    } else if (entry.name === name) return path;
  }
  return null;
}

/** Where controller-launch.ts expects the controller, relative to itself ('./', './controller/'). */
export function controllerPrefix(root: string): string {
  const launch = findFile(join(root, 'edge/gate'), 'controller-launch.ts');
  if (!launch) throw new Error('edge/gate/**/controller-launch.ts not found');
  const m = /new URL\(\s*`(\.\/(?:[\w-]+\/)*)gate-controller-process\./.exec(
    readFileSync(launch, 'utf8'),
  );
  if (!m?.[1]) throw new Error(`${launch}: no new URL(\`./...gate-controller-process.\`) found`);
  return m[1].slice(2);
}

export interface BundleResult {
  outdir: string;
  gateway: string;
  controller: string;
}

export async function bundleGateway(
  o: { root?: string; outdir?: string } = {},
): Promise<BundleResult> {
  const root = o.root ?? repositoryRoot();
  const outdir = resolve(o.outdir ?? join(root, 'dist/bundle'));
  const gatewayMain = ['edge/gateway/main.ts', 'edge/main.ts']
    .map((p) => join(root, p))
    .find((p) => existsSync(p));
  const controllerMain = findFile(join(root, 'edge/gate'), 'gate-controller-process.ts');
  if (!gatewayMain || !controllerMain) throw new Error('gateway or gate-controller entry missing');
  const prefix = controllerPrefix(root);
  const { build } = await import('esbuild');
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: [
      { in: gatewayMain, out: 'gateway' },
      { in: controllerMain, out: `${prefix}gate-controller-process` },
      // the worker thread that opens large signed commands (edge/commands/large-command.ts
      // starts it from `./large-command-worker.js` next to itself: every chunk is top level)
      { in: join(root, 'edge/commands/large-command-worker.ts'), out: 'large-command-worker' },
    ],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // chunks at the top level: code that resolves files relative to import.meta.url (the
    // controller launch) then sees the same layout whichever chunk it lands in
    chunkNames: '[name]-[hash]',
    sourcemap: 'linked',
    external: BUNDLE_EXTERNALS,
    // CommonJS packages inside the bundle may require() the external ones
    banner: {
      js: "import { createRequire as __edgeCreateRequire } from 'node:module'; const require = __edgeCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
    plugins: [
      {
        // the configuration validators compiled now, not at every start
        name: 'precompiled-config-validators',
        setup(b) {
          b.onLoad({ filter: /[\\/]config[\\/]precompiled-validators\.[jt]s$/ }, async (args) => ({
            contents: await configValidatorsModule(),
            loader: 'js',
            resolveDir: dirname(args.path),
          }));
        },
      },
    ],
  });
  const controller = join(outdir, `${prefix}gate-controller-process.js`);
  // the controller launch must have landed in a top-level file next to that path
  const launchers = readdirSync(outdir).filter(
    (f) =>
      f.endsWith('.js') && readFileSync(join(outdir, f), 'utf8').includes('controller-process.'),
  );
  if (!existsSync(controller) || launchers.length === 0)
    throw new Error(`bundle: gate controller not where the launcher looks (${controller})`);
  if (!existsSync(join(outdir, 'large-command-worker.js')))
    throw new Error('bundle: large-command-worker.js missing');
  return { outdir, gateway: join(outdir, 'gateway.js'), controller };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const started = Date.now();
  bundleGateway({ ...(process.argv[2] ? { outdir: process.argv[2] } : {}) }).then(
    (r) =>
      console.log(
        `bundle: ${relative(process.cwd(), r.gateway)} and ${relative(process.cwd(), r.controller)} in ${Date.now() - started} ms`,
      ),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
