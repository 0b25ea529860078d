import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import { Gateway } from '../../edge/gateway/gateway.js';
import { silentLogger } from '../../edge/log.js';

/** Basic auth of the technician the fixture configures. */
export const TECH_AUTH = `Basic ${Buffer.from('tech:tech-password').toString('base64')}`;

/**
 * The example line's gateway with its gates section (simulated GPIO controller) and no drivers
 * (the tests feed the engine what a driver would), no broker (events stay in the outbox), one
 * technician user. Started; the caller stops it and removes `dataDir`.
 */
export async function startGatesOnlyGateway(
  prefix: string,
): Promise<{ gateway: Gateway; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const doc = parse(
    readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
  ) as Record<string, any>;
  doc.dataDir = dataDir;
  doc.log = { level: 'silent', pretty: false };
  doc.http.port = 0;
  doc.http.users = [{ name: 'tech', role: 'technician', password: 'tech-password' }];
  doc.embeddedBroker.enabled = false;
  doc.uplink.url = 'mqtt://127.0.0.1:1'; // nobody there: events stay in the outbox
  doc.drivers = [];
  const gateway = new Gateway({
    config: new ConfigValidator(driverKindSchemas()).parse(doc),
    log: silentLogger(),
    clock: systemClock,
    version: 'test',
  });
  await gateway.start();
  return { gateway, dataDir };
}
