import { gateRoutes } from '../http/routes/gate-routes.js';
import { opcuaRoutes } from '../http/routes/opcua-routes.js';
import { serialRoutes } from '../http/routes/serial-routes.js';
import { targetingRoutes } from '../http/routes/targeting-routes.js';
import type { RouteModule } from '../http/server.js';
import { lineForJog, requireRunner, type GatewayParts } from './parts.js';

/** HTTP routes of the parts that have them (gates, serial, OPC UA, targeting list). */
export function routeModules(parts: GatewayParts): RouteModule[] {
  const audit = parts.audit;
  return [
    gateRoutes({
      gates: parts.gateLink,
      line: (gateId) => lineForJog(parts, gateId),
      audit,
    }),
    serialRoutes({ drivers: () => [...parts.drivers()], audit }),
    opcuaRoutes({ drivers: () => [...parts.drivers()], audit }),
    targetingRoutes({
      store: () => parts.runner()?.targeting ?? null,
      replace: (version, entries, source) =>
        requireRunner(parts).replaceTargeting(version, entries, source),
      audit,
    }),
  ];
}
