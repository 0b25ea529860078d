/**
 * Runs inside a private mount namespace (`unshare -m --propagation private`), as root: mounts a
 * tmpfs on /sys/class, builds a fake Raspberry Pi 4 sysfs GPIO tree (kernel >= 6.6, base 512)
 * and drives the real onoff through the onoff binding. Prints one JSON line of observations;
 * test/gpio/onoff-sysfs.test.ts checks them. Never run outside a private namespace.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createOnoffBinding } from '../../drivers/gpio/onoff-binding.js';
import { realGpioTimers } from '../../drivers/gpio/binding.js';
import { systemClock } from '../../edge/clock.js';

const ROOT = '/sys/class/gpio';
const obs: Record<string, unknown> = {};
const read = (f: string) => readFileSync(`${ROOT}/${f}`, 'utf8').trim();

async function main(): Promise<void> {
  if (process.env.GPIO_FAKE_NS !== '1')
    throw new Error('refusing to run outside the test namespace');
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', '/sys/class']);
  mkdirSync(`${ROOT}/gpiochip512`, { recursive: true });
  writeFileSync(`${ROOT}/export`, '');
  writeFileSync(`${ROOT}/unexport`, '');
  writeFileSync(`${ROOT}/gpiochip512/label`, 'pinctrl-bcm2711\n');
  writeFileSync(`${ROOT}/gpiochip512/base`, '512\n');
  writeFileSync(`${ROOT}/gpiochip512/ngpio`, '58\n');
  // pins as udev leaves them after an export: 529 = BCM 17, 539 = BCM 27, 534 = BCM 22
  for (const n of [529, 539, 534]) {
    mkdirSync(`${ROOT}/gpio${n}`);
    const files: [string, string][] = [
      ['value', '0'],
      ['direction', 'in'],
      ['active_low', '0'],
      ['edge', 'none'],
    ];
    for (const [f, v] of files) writeFileSync(`${ROOT}/gpio${n}/${f}`, v);
  }
  const warnings: string[] = [];
  const binding = await createOnoffBinding({
    timers: realGpioTimers(systemClock.monoMs),
    warn: (w) => warnings.push(w),
  });
  obs.chip = binding.detail;

  const gate = binding.openOutput(17, { activeLow: false, initial: 0 });
  obs.gateOpened = {
    direction: read('gpio529/direction'),
    activeLow: read('gpio529/active_low'),
    value: read('gpio529/value'),
  };
  gate.write(1);
  obs.gateFired = read('gpio529/value');
  gate.write(0);
  obs.gateReleased = read('gpio529/value');

  const lamp = binding.openOutput(27, { activeLow: true, initial: 0 });
  obs.activeLowOpened = {
    direction: read('gpio539/direction'),
    activeLow: read('gpio539/active_low'),
    value: read('gpio539/value'),
  };
  lamp.write(1);
  obs.activeLowOn = read('gpio539/value');

  const edges: { value: number; mono: number }[] = [];
  const eye = binding.openInput(22, { activeLow: false, debounceMs: 0 }, (value, mono) =>
    edges.push({ value, mono }),
  );
  obs.inputOpened = { direction: read('gpio534/direction'), edge: read('gpio534/edge') };
  const wrote = systemClock.monoMs();
  writeFileSync(`${ROOT}/gpio534/value`, '1');
  const until = Date.now() + 5000;
  while (edges.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  obs.inputEdge = edges[0] ? { value: edges[0].value, afterWriteMs: edges[0].mono - wrote } : null;
  obs.inputLevel = eye.read();
  obs.warnings = warnings;

  // a pin that does not appear after export (what a wrong chip base looks like)
  try {
    binding.openOutput(5, { activeLow: false, initial: 0 });
    obs.missingPin = 'opened';
  } catch (err) {
    obs.missingPin = (err as { code?: string }).code;
    obs.exportWritten = read('export');
  }
  gate.close();
  obs.unexportGate = read('unexport');
  lamp.close();
  obs.unexportLamp = read('unexport');
  binding.close();
  obs.unexportInput = read('unexport');
}

main().then(
  () => {
    process.stdout.write(JSON.stringify(obs) + '\n');
    process.exit(0);
  },
  (err: unknown) => {
    process.stdout.write(
      JSON.stringify({ ...obs, error: String((err as Error).stack ?? err) }) + '\n',
    );
    process.exit(1);
  },
);
