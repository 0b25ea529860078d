import type { TSchema } from 'typebox';
import type { LineConfig } from '../config/schema.js';
import type { Driver, DriverContext } from './driver.js';
import { SERIAL_DRIVER_KINDS } from './serial/kinds.js';
import { OpcuaDriverSchema, type OpcuaDriverConfig } from './opcua/config-schema.js';
import {
  SimulatedLineDriver,
  SimulatedLineSchema,
  type SimulatedLineConfig,
} from './simulated/line-simulator.js';

/**
 * Every driver kind this build knows: its config schema (validated by config/loader) and its
 * factory. Heavy kinds (OPC UA) load their code in `create` with a dynamic import, so a gateway
 * that does not configure them never pays for them.
 */
export interface DriverFactoryContext extends DriverContext {
  line: LineConfig;
  /** the gateway's data directory (drivers keep state there, e.g. the OPC UA PKI folder) */
  dataDir?: string;
}

export interface DriverKind {
  kind: string;
  schema: TSchema;
  create(config: Record<string, unknown>, ctx: DriverFactoryContext): Promise<Driver>;
}

export const DRIVER_KINDS: readonly DriverKind[] = [
  {
    kind: 'simulated-line',
    schema: SimulatedLineSchema,
    create: (config, ctx) =>
      Promise.resolve(new SimulatedLineDriver(config as SimulatedLineConfig, ctx.line, ctx)),
  },
  {
    kind: 'opcua',
    schema: OpcuaDriverSchema,
    // node-opcua (~0.3 s, ~100 MB) is loaded only when an opcua driver is configured
    create: async (config, ctx) => {
      const { OpcuaDriver } = await import('./opcua/opcua-driver.js');
      return new OpcuaDriver(config as OpcuaDriverConfig, ctx);
    },
  },
  // serial-barcode, serial-mt-sics, serial-toledo, serial-ct-alarm, serial-sim
  ...SERIAL_DRIVER_KINDS,
];

export function driverKindSchemas(
  kinds: readonly DriverKind[] = DRIVER_KINDS,
): Map<string, TSchema> {
  return new Map(kinds.map((k) => [k.kind, k.schema]));
}
