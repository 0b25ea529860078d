import AjvModule from 'ajv';
import { pino } from 'pino';
import { systemClock } from '../../edge/clock.js';
import type { EngineInput } from '../../edge/engine/types.js';
import { silentLogger } from '../../edge/log.js';
import {
  OpcuaDriverSchema,
  type OpcuaDriverConfig,
  type OpcuaServerConfig,
} from '../../drivers/opcua/config-schema.js';
import { OpcuaDriver } from '../../drivers/opcua/opcua-driver.js';
import { SIM_NS } from '../../drivers/opcua/signal-mapping.js';

const Ajv = AjvModule.default;
const validate = new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(
  OpcuaDriverSchema,
);

/** Validate (filling defaults) exactly as config/loader does. */
export function opcuaConfig(doc: Record<string, unknown>): OpcuaDriverConfig {
  if (!validate(doc)) throw new Error(JSON.stringify(validate.errors, null, 2));
  return doc;
}

export const node = (id: string) => `nsu=${SIM_NS};s=${id}`;

/** The simulator's CT scanner + sorter PLC as one server entry. */
export function simServer(endpointUrl: string, extra: Partial<OpcuaServerConfig> = {}) {
  return {
    id: 'sim',
    endpointUrl,
    securityMode: 'None' as const,
    deviceId: 'ct-1',
    role: 'ct',
    backoff: { initialMs: 200, maxMs: 2000 },
    signals: [
      { name: 'ct1.verdict', kind: 'ctVerdict', nodeId: node('CT1'), fieldNamespace: SIM_NS },
      {
        name: 'ct1.lifeBit',
        kind: 'lifeBit',
        nodeId: node('CT1.LifeBit'),
        lifeBitTimeoutMs: 1500,
      },
      {
        name: 'pe.infeed',
        kind: 'photoEye',
        nodeId: node('PLC1.PE.Infeed'),
        deviceId: 'pe-infeed',
      },
      {
        name: 'line.speed',
        kind: 'beltSpeed',
        browsePath: '/Objects/5:SorterPLC/5:BeltSpeed',
        deviceId: 'plc-1',
        scale: 1000,
      },
      { name: 'bcr.scan', kind: 'barcode', nodeId: node('BCR1'), deviceId: 'scanner-1' },
      {
        name: 'mv1.result',
        kind: 'ctVerdict',
        nodeId: node('MV1'),
        preset: 'machineVisionResultReady',
        deviceId: 'ct-mv',
        // this vision system judges while the parcel is in the tunnel
        eventTimeIsScanTime: true,
      },
      { name: 'bad.signal', kind: 'value', nodeId: node('Does.Not.Exist') },
    ],
    outputs: [
      {
        name: 'plc.decision',
        kind: 'decision',
        objectId: node('PLC1.Decision'),
        methodId: node('PLC1.Decision.HandOff'),
        arguments: ['key', 'lane'],
      },
      {
        name: 'plc.decisionByWrite',
        kind: 'decision',
        trackingIdNodeId: node('PLC1.Decision.TrackingId'),
        laneNodeId: node('PLC1.Decision.Lane'),
        strobeNodeId: node('PLC1.Decision.Strobe'),
        destinationType: 'String',
      },
      {
        name: 'gw.lifeBit',
        kind: 'write',
        nodeId: node('PLC1.GatewayLifeBit'),
        dataType: 'Boolean',
      },
    ],
    ...extra,
  };
}

export function makeDriver(config: OpcuaDriverConfig, dataDir: string) {
  const log = process.env.OPCUA_TEST_LOG
    ? pino({ level: process.env.OPCUA_TEST_LOG }, pino.destination(2))
    : silentLogger();
  const driver = new OpcuaDriver(config, { log, clock: systemClock, dataDir });
  const signals: EngineInput[] = [];
  driver.on('signal', (s) => signals.push(s));
  return { driver, signals };
}
