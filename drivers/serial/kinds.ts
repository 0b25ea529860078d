import type { TSchema } from 'typebox';
import type { Driver, DriverContext } from '../driver.js';
import {
  SerialBarcodeSchema,
  SerialCtAlarmSchema,
  SerialMtSicsSchema,
  SerialToledoSchema,
  type SerialDriverConfig,
} from './config.js';
import { SerialSimSchema, type SerialSimConfig } from './sim/sim-driver.js';

/**
 * The serial driver kinds for drivers/kinds.ts. The driver code (and serialport's native addon)
 * loads only when a serial kind is configured.
 */
export interface SerialKindEntry {
  kind: string;
  schema: TSchema;
  create(config: Record<string, unknown>, ctx: DriverContext): Promise<Driver>;
}

const serialDriver = async (config: Record<string, unknown>, ctx: DriverContext) => {
  const { SerialDriver } = await import('./serial-driver.js');
  return new SerialDriver(config as unknown as SerialDriverConfig, ctx);
};

export const SERIAL_DRIVER_KINDS: readonly SerialKindEntry[] = [
  { kind: 'serial-barcode', schema: SerialBarcodeSchema, create: serialDriver },
  { kind: 'serial-mt-sics', schema: SerialMtSicsSchema, create: serialDriver },
  { kind: 'serial-toledo', schema: SerialToledoSchema, create: serialDriver },
  { kind: 'serial-ct-alarm', schema: SerialCtAlarmSchema, create: serialDriver },
  {
    kind: 'serial-sim',
    schema: SerialSimSchema,
    create: async (config, ctx) => {
      const { SerialSimDriver } = await import('./sim/sim-driver.js');
      return new SerialSimDriver(config as unknown as SerialSimConfig, ctx);
    },
  },
];
