import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * OpenAPI 3 generated from the routes' TypeBox schemas (@fastify/swagger), browsable at /docs
 * (@fastify/swagger-ui, its files served from node_modules: no CDN) and as JSON at
 * /docs/json. Any logged-in user may read it. Register before the routes: it collects them as
 * they are added.
 */
export async function registerApiDocs(app: FastifyInstance, version: string): Promise<void> {
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) {
      route.config = { ...(route.config ?? {}), minRole: 'viewer' };
      route.schema = { ...(route.schema ?? {}), hide: true };
    }
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Customs edge gateway API',
        version,
        description:
          'Every route but GET /api/health and POST /api/session needs a session cookie (POST /api/session) or HTTP Basic credentials; each names its least role (x-min-role). State-changing requests from a browser carry the session CSRF token in x-csrf-token.',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'edge_session' },
          basic: { type: 'http', scheme: 'basic' },
        },
      },
      security: [{ session: [] }, { basic: [] }],
    },
    transform: ({ schema, url, route }) => {
      const minRole = (route.config as { minRole?: string; public?: boolean } | undefined)?.minRole;
      const isPublic = route.config?.public === true;
      const transformed = {
        ...(schema ?? {}),
        ...(isPublic ? { security: [] } : {}),
        'x-min-role': isPublic ? 'none' : (minRole ?? 'admin'),
      };
      return { schema: transformed, url };
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    uiConfig: { docExpansion: 'list', deepLinking: false },
  });
}
