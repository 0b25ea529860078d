/**
 * Child process for the restart test: a real EngineRunner on a state file, three parcels on the
 * line (one decided pass, two still waiting), a targeting list; prints `ready`
 * once the tracking snapshot is on disk, then waits to be killed with SIGKILL.
 */
import pino from 'pino';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { engineConfigFrom } from '../../config/engine-config.js';
import { openEngineStores } from '../../edge/gateway/engine-stores.js';
import { EngineRunner } from '../../edge/engine/engine-runner.js';
import { systemClock } from '../../edge/clock.js';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';

const stateFile = process.argv[2] as string;
const doc = parse(
  readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
) as Record<string, unknown>;
const line = new ConfigValidator(driverKindSchemas()).parse(doc).line;
let n = 0;
const runner = new EngineRunner({
  engine: engineConfigFrom(line),
  lineId: line.id,
  clock: systemClock,
  log: pino({ level: 'silent' }),
  newParcelId: () => `child-${++n}`,
  sendGateCommand: () => {},
  cancelGateCommand: () => {},
  recordEvents: () => {},
  stores: openEngineStores(stateFile, pino({ level: 'silent' }), systemClock),
});
runner.replaceTargeting('child-v1', [{ id: 'e1', match: 'prefix', pattern: 'EX' }], 'test');
const now = () => systemClock.monoMs();
const pe = (edge: 'leading' | 'trailing') =>
  runner.handle({ type: 'photoEye', deviceId: 'pe-infeed', atMono: now(), edge });
const read = (code: string) =>
  runner.handle({ type: 'barcode', deviceId: 's', atMono: now(), code, valid: true });
const t0 = now();
const at = (ms: number, fn: () => void) => setTimeout(fn, Math.max(0, t0 + ms - now()));
// 1000 mm/s: P1 at the scanner (800 mm) after ~1 s, at the CT (2000 mm) after ~2.2 s
pe('leading');
at(400, () => pe('trailing'));
at(1000, () => read('RD223479072CN'));
at(1100, () => pe('leading'));
at(1500, () => pe('trailing'));
at(2100, () => read('RD111111111CN'));
at(2200, () =>
  runner.handle({
    type: 'ctVerdict',
    deviceId: 'ct',
    scannedAtMono: now(),
    verdict: 'clear',
    scanId: 'S1',
    imageId: null,
  }),
);
at(2300, () => pe('leading'));
at(2900, () => process.stdout.write(`ready ${runner.engine.trackedCount()}\n`));
setInterval(() => {}, 1000);
