import type { Logger } from 'pino';
import type { GatewayConfig } from '../../config/schema.js';
import type { Clock } from '../clock.js';
import { AlertOutputs, type LightOutputs } from './alert-outputs.js';
import { InspectorDesk, type InspectorEventLog, type OfficerVerdictTarget } from './desk.js';

/**
 * How the gateway starts the inspector workstation (edge/gateway.ts calls this once its outbox
 * is open, before the engine starts, so the queue catches up on the stored events first). A desk
 * that cannot start (its SQLite file unusable) is logged and left out: the line runs without it
 * and the inspector routes answer 503.
 */
export interface InspectorParts {
  desk: InspectorDesk;
  alerts: AlertOutputs;
}

export function startInspector(o: {
  config: GatewayConfig;
  dataDir: string;
  events: InspectorEventLog;
  engine: () => OfficerVerdictTarget | null;
  lights: () => LightOutputs | null;
  clock: Clock;
  log: Logger;
}): InspectorParts | null {
  if (!o.config.inspector.enabled) return null;
  let desk: InspectorDesk | null = null;
  try {
    desk = new InspectorDesk({
      config: o.config.inspector,
      dataDir: o.dataDir,
      events: o.events,
      engine: o.engine,
      clock: o.clock,
      log: o.log,
      eventRetentionS: o.config.outbox.deliveredRetentionS,
    });
    desk.start();
  } catch (err) {
    o.log.error({ err }, 'inspector workstation not started');
    desk?.close();
    return null;
  }
  const alerts = new AlertOutputs(o.config.inspector.alertOutputs, o.lights, o.log);
  const started = desk;
  if (o.config.inspector.alertOutputs.length > 0) {
    const refresh = () => alerts.update(started.pendingAlerts());
    started.subscribe(refresh);
    refresh();
  }
  return { desk: started, alerts };
}
