import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Type } from 'typebox';
import { parseDocument } from 'yaml';
import type { ConfigIssue } from '../../../config/loader.js';
import {
  locateIssues,
  redactDoc,
  redactYamlText,
  restoreRedactedText,
} from '../../../config/yaml-file.js';
import type { ConfigControl } from '../../gateway/config-control.js';

/**
 * The configuration over HTTP (the console's config page and scripts):
 *
 *   GET  /api/config/schema              JSON Schema of the file and of each driver kind
 *   GET  /api/config/file                the file with secrets hidden: JSON, or YAML with its
 *                                        comments (?format=yaml or Accept: application/yaml)
 *   POST /api/config/validate            every error at once (schema and cross-checks), JSON or
 *                                        YAML body; YAML errors carry line and column
 *   PUT  /api/config                     apply (admin): validated now, applied after the reply
 *   GET  /api/config/last-apply          outcome of the last change and the one in progress
 *   GET  /api/config/history             earlier versions (the backup before each change)
 *   GET  /api/config/history/:id         one earlier version, secrets hidden
 *   POST /api/config/history/:id/restore apply an earlier version (admin)
 *
 * `[redacted]` in a body means "keep the file's secret here" and is never stored; a round trip
 * (GET the file, PUT it back) changes nothing, comments and secret references included.
 */

export interface ConfigRouteDeps {
  control: ConfigControl;
  log: Logger;
  audit?: (entry: { action: string; actor: string } & Record<string, unknown>) => void;
}

interface Candidate {
  doc: unknown;
  text?: string;
  issues: (ConfigIssue & { line?: number; col?: number })[];
}

/** A request body as a candidate: YAML text (comments kept) or a JSON document. */
function candidate(body: unknown, control: ConfigControl): Candidate {
  if (typeof body !== 'string') return { doc: body, issues: [] };
  const parsed = parseDocument(body, { prettyErrors: true });
  if (parsed.errors.length > 0) {
    return {
      doc: null,
      issues: parsed.errors.map((e) => ({
        path: `yaml:${e.linePos?.[0]?.line ?? 0}:${e.linePos?.[0]?.col ?? 0}`,
        message: e.message.split('\n')[0] ?? e.message,
        ...(e.linePos?.[0] ? { line: e.linePos[0].line, col: e.linePos[0].col } : {}),
      })),
    };
  }
  const restored = restoreRedactedText(body, control.current());
  return { doc: restored.doc, text: restored.text, issues: restored.issues };
}

function check(body: unknown, control: ConfigControl): Candidate {
  const c = candidate(body, control);
  if (c.issues.length > 0) return { ...c, issues: locate(body, c.issues) };
  return { ...c, issues: locate(body, control.validate(c.doc)) };
}

function locate(body: unknown, issues: ConfigIssue[]): Candidate['issues'] {
  return typeof body === 'string' ? locateIssues(body, issues) : issues;
}

const wantsYaml = (req: FastifyRequest, format: string | undefined) =>
  format === 'yaml' || /yaml/.test(req.headers.accept ?? '');

const VersionParams = Type.Object({ id: Type.String({ pattern: '^[0-9A-Za-z.-]{1,64}$' }) });

export function configRoutes(fastify: FastifyInstance, deps: ConfigRouteDeps): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { control } = deps;
  const technician = { minRole: 'technician' as const };
  const admin = { minRole: 'admin' as const };
  const tags = ['config'];

  const applyAfterReply = (
    reply: FastifyReply,
    c: Candidate,
    actor: string,
    extra: Record<string, unknown> = {},
  ) => {
    reply.raw.once('finish', () => {
      control
        .apply(c.doc, actor, c.text !== undefined ? { text: c.text } : {})
        .catch((err: unknown) => deps.log.error({ err, ...extra }, 'config apply failed'));
    });
    return reply.code(202).send({
      accepted: true,
      message: 'valid; applying (the gateway restarts its pipeline)',
      ...extra,
    });
  };

  const rejected = (reply: FastifyReply, c: Candidate, actor: string) => {
    deps.audit?.({ action: 'config.put', actor, result: 'rejected', issues: c.issues });
    return reply.code(400).send({
      code: 'EDGE_CONFIG_INVALID',
      message: `configuration rejected (${c.issues.length} errors); running configuration kept`,
      issues: c.issues,
    });
  };

  if (control.schema) {
    const schema = control.schema.bind(control);
    app.get('/api/config/schema', { config: technician, schema: { tags } }, (_req, reply) =>
      reply.header('cache-control', 'no-store').send(schema()),
    );
  }

  app.get(
    '/api/config/file',
    {
      config: technician,
      schema: { tags, querystring: Type.Object({ format: Type.Optional(Type.String()) }) },
    },
    (req, reply) => {
      void reply.header('cache-control', 'no-store');
      if (wantsYaml(req, req.query.format) && control.currentText)
        return reply
          .type('application/yaml; charset=utf-8')
          .send(redactYamlText(control.currentText()));
      return reply.send(redactDoc(control.current()));
    },
  );

  app.post('/api/config/validate', { config: technician, schema: { tags } }, (req, reply) => {
    const c = check(req.body, control);
    return reply
      .code(c.issues.length ? 400 : 200)
      .send({ valid: c.issues.length === 0, issues: c.issues });
  });

  app.put('/api/config', { config: admin, schema: { tags } }, (req, reply) => {
    const actor = req.principal?.name ?? '?';
    const c = check(req.body, control);
    if (c.issues.length > 0) return rejected(reply, c, actor);
    return applyAfterReply(reply, c, actor);
  });

  app.get(
    '/api/config/last-apply',
    { config: { ...technician, background: true }, schema: { tags } },
    (_req, reply) =>
      reply.header('cache-control', 'no-store').send({
        ...(control.lastResult ?? { message: 'no configuration change since start' }),
        progress: control.progress?.() ?? null,
      }),
  );

  app.get('/api/config/history', { config: technician, schema: { tags } }, (_req, reply) =>
    reply.header('cache-control', 'no-store').send({ versions: control.history?.() ?? [] }),
  );

  app.get(
    '/api/config/history/:id',
    { config: technician, schema: { tags, params: VersionParams } },
    (req, reply) => {
      const text = control.versionText?.(req.params.id) ?? null;
      if (text === null)
        return reply.code(404).send({ code: 'EDGE_HTTP_NOT_FOUND', message: 'no such version' });
      return reply.type('application/yaml; charset=utf-8').send(redactYamlText(text));
    },
  );

  app.post(
    '/api/config/history/:id/restore',
    { config: admin, schema: { tags, params: VersionParams } },
    (req, reply) => {
      const actor = req.principal?.name ?? '?';
      const text = control.versionText?.(req.params.id) ?? null;
      if (text === null)
        return reply.code(404).send({ code: 'EDGE_HTTP_NOT_FOUND', message: 'no such version' });
      // the backup holds the real secrets of its time: no [redacted] to restore
      const c = check(text, control);
      if (c.issues.length > 0) return rejected(reply, c, actor);
      return applyAfterReply(reply, c, actor, { restoredFrom: req.params.id });
    },
  );
}
