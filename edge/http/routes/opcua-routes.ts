import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import {
  isOpcuaControl,
  type CertificateEntry,
  type OpcuaControl,
} from '../../../drivers/opcua/api.js';
import { isEdgeError } from '../../errors.js';
import type { RouteModule } from '../server.js';

/**
 * OPC UA routes for technicians: servers and their health, the PKI (list, trust, remove server
 * certificates), browse and read (for the UI). Drivers are found by kind, so this module never
 * loads node-opcua itself. Trust and remove are audited.
 *
 *   GET    /api/opcua/servers
 *   GET    /api/opcua/certificates
 *   POST   /api/opcua/certificates/:thumbprint/trust
 *   DELETE /api/opcua/certificates/:thumbprint
 *   GET    /api/opcua/servers/:serverId/browse?nodeId=i=85
 *   GET    /api/opcua/servers/:serverId/read?nodeId=ns=1;s=X
 *   GET    /api/opcua/drivers/:driverId/own-certificate   the gateway's application certificate
 *                                                         (PEM, public) for the vendor's server
 */
export interface OpcuaRouteDeps {
  drivers: () => readonly unknown[];
  audit?: (entry: { action: string; actor: string } & Record<string, unknown>) => void;
}

const Thumbprint = Type.Object({ thumbprint: Type.String({ pattern: '^[0-9a-fA-F]{40}$' }) });
const ServerParams = Type.Object({ serverId: Type.String({ minLength: 1, maxLength: 64 }) });
const NodeQuery = Type.Object({
  nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
});

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (isEdgeError(err)) {
    const status =
      err.code === 'EDGE_OPCUA_UNKNOWN_NAME'
        ? 404
        : err.code === 'EDGE_OPCUA_NOT_CONNECTED'
          ? 503
          : err.code === 'EDGE_OPCUA_WRITE' || err.code === 'EDGE_OPCUA_SIGNAL'
            ? 400
            : 500;
    return reply.code(status).send({ code: err.code, message: err.message });
  }
  return reply.code(502).send({ code: 'EDGE_OPCUA_CONNECT', message: (err as Error).message });
}

export function opcuaRoutes(deps: OpcuaRouteDeps): RouteModule {
  return (fastify: FastifyInstance) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const drivers = (): OpcuaControl[] => deps.drivers().filter(isOpcuaControl);
    const serverOwner = (serverId: string) =>
      drivers().find((d) => d.serverIds().includes(serverId));
    const technician = { minRole: 'technician' as const };

    app.get('/api/opcua/servers', { config: technician }, (_req, reply) =>
      reply.send({
        servers: drivers().flatMap((d) => d.serverHealth().map((s) => ({ driverId: d.id, ...s }))),
      }),
    );

    app.get('/api/opcua/certificates', { config: technician }, async (_req, reply) => {
      const lists = await Promise.all(
        drivers().map(async (d) =>
          (await d.listCertificates()).map((c) => ({ driverId: d.id, ...c })),
        ),
      );
      return reply.send({ certificates: lists.flat() });
    });

    /** Apply a certificate operation in every OPC UA driver; 404 when none knows the thumbprint. */
    const acrossDrivers = async <T extends object>(
      thumbprint: string,
      op: (d: OpcuaControl) => Promise<T>,
    ): Promise<{ results: (T & { driverId: string })[]; error?: unknown }> => {
      const results: (T & { driverId: string })[] = [];
      for (const d of drivers()) {
        try {
          results.push({ driverId: d.id, ...(await op(d)) });
        } catch (err) {
          if (!isEdgeError(err, 'EDGE_OPCUA_UNKNOWN_NAME')) return { results, error: err };
        }
      }
      return { results };
    };
    const notFound = (reply: FastifyReply, thumbprint: string) =>
      reply
        .code(404)
        .send({ code: 'EDGE_OPCUA_UNKNOWN_NAME', message: `no certificate ${thumbprint}` });

    /** Trust or remove a certificate in every OPC UA driver's PKI that has it; audited. */
    const certificateRoute =
      (
        action: 'trust' | 'remove',
        run: (d: OpcuaControl, thumbprint: string) => Promise<CertificateEntry>,
      ) =>
      async (
        req: FastifyRequest<{ Params: { thumbprint: string } }>,
        reply: FastifyReply,
      ): Promise<FastifyReply> => {
        const { thumbprint } = req.params;
        const { results, error } = await acrossDrivers(thumbprint, (d) => run(d, thumbprint));
        if (error) return sendError(reply, error);
        if (results.length === 0) return notFound(reply, thumbprint);
        deps.audit?.({
          action: `opcua.certificate.${action}`,
          actor: req.principal?.name ?? '?',
          thumbprint: thumbprint.toLowerCase(),
          ...(action === 'trust' ? { subject: results[0]?.subject } : {}),
        });
        return reply.send(action === 'trust' ? { trusted: results } : { removed: results });
      };

    app.post(
      '/api/opcua/certificates/:thumbprint/trust',
      { config: technician, schema: { params: Thumbprint } },
      certificateRoute('trust', (d, t) => d.trustCertificate(t)),
    );

    app.delete(
      '/api/opcua/certificates/:thumbprint',
      { config: technician, schema: { params: Thumbprint } },
      certificateRoute('remove', (d, t) => d.removeCertificate(t)),
    );

    app.get(
      '/api/opcua/drivers/:driverId/own-certificate',
      {
        config: technician,
        schema: { params: Type.Object({ driverId: Type.String({ minLength: 1, maxLength: 64 }) }) },
      },
      async (req, reply) => {
        type WithHealth = OpcuaControl & { health?: () => { details?: { pkiDir?: unknown } } };
        const driver: WithHealth | undefined = drivers().find((d) => d.id === req.params.driverId);
        const pkiDir = driver?.health?.().details?.pkiDir;
        if (!driver || typeof pkiDir !== 'string')
          return reply.code(404).send({
            code: 'EDGE_OPCUA_UNKNOWN_NAME',
            message: `no OPC UA driver ${req.params.driverId}`,
          });
        // own/certs holds only public certificates (the private key is under own/private)
        const dir = join(pkiDir, 'own', 'certs');
        const files = (await readdir(dir).catch(() => [] as string[])).filter((f) =>
          /\.pem$/i.test(f),
        );
        for (const file of files.sort()) {
          const pem = await readFile(join(dir, file), 'utf8').catch(() => '');
          if (!pem.includes('BEGIN CERTIFICATE')) continue;
          return reply
            .type('application/x-pem-file')
            .header(
              'content-disposition',
              `attachment; filename="${driver.id}-gateway-certificate.pem"`,
            )
            .send(pem);
        }
        return reply.code(404).send({
          code: 'EDGE_OPCUA_UNKNOWN_NAME',
          message: 'the gateway has no application certificate yet (created at the first connect)',
        });
      },
    );

    app.get(
      '/api/opcua/servers/:serverId/browse',
      { config: technician, schema: { params: ServerParams, querystring: NodeQuery } },
      async (req, reply) => {
        const { serverId } = req.params;
        const owner = serverOwner(serverId);
        if (!owner) {
          return reply
            .code(404)
            .send({ code: 'EDGE_OPCUA_UNKNOWN_NAME', message: `no server ${serverId}` });
        }
        const nodeId = req.query.nodeId ?? 'i=85';
        try {
          return reply.send({ serverId, nodeId, children: await owner.browse(serverId, nodeId) });
        } catch (err) {
          return sendError(reply, err);
        }
      },
    );

    app.get(
      '/api/opcua/servers/:serverId/read',
      { config: technician, schema: { params: ServerParams, querystring: NodeQuery } },
      async (req, reply) => {
        const { serverId } = req.params;
        const owner = serverOwner(serverId);
        if (!owner) {
          return reply
            .code(404)
            .send({ code: 'EDGE_OPCUA_UNKNOWN_NAME', message: `no server ${serverId}` });
        }
        if (!req.query.nodeId) {
          return reply
            .code(400)
            .send({ code: 'EDGE_OPCUA_UNKNOWN_NAME', message: 'nodeId is required' });
        }
        try {
          return reply.send(await owner.readNode(serverId, req.query.nodeId));
        } catch (err) {
          return sendError(reply, err);
        }
      },
    );
  };
}
