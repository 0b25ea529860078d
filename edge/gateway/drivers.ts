import type { Logger } from 'pino';
import type { GatewayConfig } from '../../config/schema.js';
import type { Driver, LineSignal } from '../../drivers/driver.js';
import type { DriverKind } from '../../drivers/kinds.js';
import type { Clock } from '../clock.js';
import type { EventDraft } from '../events/model.js';
import { eventDraft } from '../events/payloads/draft.js';

/**
 * The configured devices as drivers, wired to the gateway: signals to the engine, every health
 * change (`driver.state`) and driver alarm (`alarm.driver`) recorded as events. A driver whose
 * kind is unknown or whose creation throws is reported (by id) and left out; the others run.
 * Creating is separate from starting: a heavy driver (OPC UA) loads its code while being created.
 */

export interface DriverWiring {
  signal(signal: LineSignal): void;
  record(events: EventDraft[]): void;
}

export interface CreatedDrivers {
  drivers: Driver[];
  /** driver id -> why it could not be created */
  errors: Map<string, string>;
}

export async function createDrivers(o: {
  config: GatewayConfig;
  kinds: readonly DriverKind[];
  clock: Clock;
  log: Logger;
  dataDir: string;
  wiring: DriverWiring;
}): Promise<CreatedDrivers> {
  const { config, clock, wiring } = o;
  const drivers: Driver[] = [];
  const errors = new Map<string, string>();
  for (const entry of config.drivers) {
    if (entry.enabled === false) continue;
    const kind = o.kinds.find((k) => k.kind === entry.kind);
    if (!kind) {
      errors.set(entry.id, `unknown driver kind ${entry.kind}`);
      continue;
    }
    let driver: Driver;
    try {
      driver = await kind.create(entry, {
        log: o.log.child({ module: 'driver' }),
        clock,
        line: config.line,
        dataDir: o.dataDir,
      });
    } catch (err) {
      errors.set(entry.id, (err as Error).message);
      o.log.error({ err, driver: entry.id }, 'driver could not be created');
      continue;
    }
    driver.on('signal', (signal) => wiring.signal(signal));
    driver.on('health', (h) =>
      wiring.record([
        eventDraft('driver.state', null, clock.monoMs(), {
          driverId: h.id,
          kind: h.kind,
          state: h.state,
          lastError: h.lastError,
        }),
      ]),
    );
    driver.on('alarm', (a) =>
      wiring.record([
        eventDraft('alarm.driver', null, clock.monoMs(), {
          driverId: driver.id,
          kind: driver.kind,
          ...a,
        }),
      ]),
    );
    drivers.push(driver);
  }
  return { drivers, errors };
}
