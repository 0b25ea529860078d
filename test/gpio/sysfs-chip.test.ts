import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  findHeaderChip,
  gpioErrorFrom,
  listGpioChips,
  sysfsNumber,
} from '../../drivers/gpio/sysfs-chip.js';
import type { EdgeError } from '../../edge/errors.js';
import { BOARDS, fakeSysfs } from './fake-sysfs.js';

const roots: string[] = [];
const tree = (chips: { base: number; ngpio: number; label: string }[]) => {
  const r = fakeSysfs(chips);
  roots.push(r);
  return r;
};

afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as EdgeError).code;
  }
  return 'no error';
};

describe('sysfs chip base', () => {
  it.each([
    ['Pi 3, kernel >= 6.6', BOARDS.pi3, 'pinctrl-bcm2835', 512],
    ['Pi 4, kernel >= 6.6', BOARDS.pi4, 'pinctrl-bcm2711', 512],
    ['Pi 5', BOARDS.pi5, 'pinctrl-rp1', 571],
    ['old kernel (Pi 3)', BOARDS.oldKernel, 'pinctrl-bcm2835', 0],
    ['old kernel (Pi 4)', BOARDS.oldKernelPi4, 'pinctrl-bcm2711', 0],
  ])('%s: header chip %s at base %d', (_name, chips, label, base) => {
    const chip = findHeaderChip(tree(chips));
    expect(chip.label).toBe(label);
    expect(chip.base).toBe(base);
    expect(sysfsNumber(chip, 17)).toBe(base + 17);
    expect(sysfsNumber(chip, 0)).toBe(base);
  });

  it('lists every chip sorted by base', () => {
    const chips = listGpioChips(tree(BOARDS.pi5));
    expect(chips.map((c) => c.base)).toEqual([512, 544, 548, 565, 571]);
  });

  it('uses a configured chip label instead of the autodetect', () => {
    const chip = findHeaderChip(tree(BOARDS.pi4), 'raspberrypi-exp-gpio');
    expect(chip.base).toBe(570);
  });
});

describe('mapping errors', () => {
  it('no sysfs GPIO at all', () => {
    const err = (() => {
      try {
        findHeaderChip('/nonexistent/sys/class/gpio');
      } catch (e) {
        return e as EdgeError;
      }
      return null;
    })();
    expect(err?.code).toBe('EDGE_GPIO_SYSFS_MISSING');
    expect(err?.message).toMatch(/gates\.binding: simulated/);
  });

  it('no header chip: names the chips it saw', () => {
    const root = tree([{ base: 0, ngpio: 32, label: 'gpio-mockup-A' }]);
    expect(() => findHeaderChip(root)).toThrow(/gpiochip0=gpio-mockup-A/);
    expect(codeOf(() => findHeaderChip(root))).toBe('EDGE_GPIO_CHIP_NOT_FOUND');
    expect(codeOf(() => findHeaderChip(tree(BOARDS.pi4), 'pinctrl-rp1'))).toBe(
      'EDGE_GPIO_CHIP_NOT_FOUND',
    );
  });

  it('a pin outside the chip', () => {
    const chip = findHeaderChip(tree(BOARDS.pi3));
    expect(codeOf(() => sysfsNumber(chip, 54))).toBe('EDGE_GPIO_PIN_INVALID');
    expect(codeOf(() => sysfsNumber(chip, -1))).toBe('EDGE_GPIO_PIN_INVALID');
    expect(sysfsNumber(chip, 53)).toBe(565);
  });

  it('a chip directory without a readable base is skipped', () => {
    const root = tree(BOARDS.pi4);
    mkdirSync(join(root, 'gpiochip999'));
    expect(listGpioChips(root)).toHaveLength(2);
  });

  it.each([
    ['EACCES', 'EDGE_GPIO_PERMISSION', /gpio' group/],
    ['EPERM', 'EDGE_GPIO_PERMISSION', /root/],
    ['EBUSY', 'EDGE_GPIO_PIN_BUSY', /overlay/],
    ['EINVAL', 'EDGE_GPIO_PIN_INVALID', /chip base/],
    ['EIO', 'EDGE_GPIO_IO', /EIO/],
  ])('errno %s -> %s', (errno, code, text) => {
    const e = Object.assign(new Error(`${errno}: test`), {
      code: errno,
      path: '/sys/class/gpio/gpio529/value',
    });
    const mapped = gpioErrorFrom(e, 'BCM 17 (gpio529)');
    expect(mapped.code).toBe(code);
    expect(mapped.message).toMatch(text);
    expect(mapped.message).toMatch(/BCM 17/);
  });

  it('ENOENT: export missing vs gpioN not appearing after export', () => {
    const exportMissing = Object.assign(new Error('ENOENT'), {
      code: 'ENOENT',
      path: '/sys/class/gpio/export',
    });
    expect(gpioErrorFrom(exportMissing, 'BCM 17').code).toBe('EDGE_GPIO_SYSFS_MISSING');
    const valueMissing = Object.assign(new Error('ENOENT'), {
      code: 'ENOENT',
      path: '/sys/class/gpio/gpio17/value',
    });
    expect(gpioErrorFrom(valueMissing, 'BCM 17').code).toBe('EDGE_GPIO_EXPORT_FAILED');
  });
});
