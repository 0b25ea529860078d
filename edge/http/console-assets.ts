import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';

/**
 * The technician console's files (built by `npm run build:ui` into dist/ui from edge/ui): the
 * page and its hashed script and style. They are code without data, served to anyone so the
 * login page loads; every data route needs a session. Served from memory, gzipped at build,
 * no CDN: the console works on a line network without internet.
 */

/** dist/ui of this package, from source (tsx) or from dist/edge/http (compiled). */
export function defaultUiDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'ui');
    dir = dirname(dir);
  }
  return join(process.cwd(), 'dist', 'ui');
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The console's page may load only its own code and talk only to this gateway. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // CodeMirror sets element styles from script
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>console not built</title>
<p>The technician console is not built. Run <code>npm run build:ui</code> (or <code>npm run build</code>) and reload.</p>`;

export function consoleRoutes(app: FastifyInstance, uiDir = defaultUiDir()): void {
  const cache = new Map<string, Asset | null>();
  const load = (name: string): Asset | null => {
    if (cache.has(name)) return cache.get(name) ?? null;
    const file = join(uiDir, name);
    let asset: Asset | null = null;
    if (existsSync(file)) {
      const ext = name.slice(name.lastIndexOf('.'));
      asset = {
        body: readFileSync(file),
        gzip: existsSync(`${file}.gz`) ? readFileSync(`${file}.gz`) : null,
        type: TYPES[ext] ?? 'application/octet-stream',
      };
    }
    cache.set(name, asset);
    return asset;
  };
  const send = (req: FastifyRequest, reply: FastifyReply, asset: Asset, immutable: boolean) => {
    void reply
      .type(asset.type)
      .header('vary', 'accept-encoding')
      .header(
        'cache-control',
        immutable ? 'public, max-age=31536000, immutable' : 'no-cache, must-revalidate',
      );
    if (asset.gzip && /\bgzip\b/.test(req.headers['accept-encoding'] ?? ''))
      return reply.header('content-encoding', 'gzip').send(asset.gzip);
    return reply.send(asset.body);
  };

  app.get('/', { config: { public: true }, schema: { hide: true } }, (req, reply) => {
    const page = load('index.html');
    void reply.header('content-security-policy', CONSOLE_CSP);
    if (!page) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
    return send(req, reply, page, false);
  });

  app.get(
    '/assets/:file',
    {
      config: { public: true },
      schema: {
        hide: true,
        params: Type.Object({ file: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,100}$' }) }),
      },
    },
    (req: FastifyRequest<{ Params: { file: string } }>, reply) => {
      const asset = load(`assets/${req.params.file}`);
      if (!asset || req.params.file.endsWith('.gz'))
        return reply.code(404).send({ code: 'EDGE_HTTP_NOT_FOUND', message: 'no such file' });
      return send(req, reply, asset, true);
    },
  );
}
