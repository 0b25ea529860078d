import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeError } from '../../edge/errors.js';

/**
 * Where BCM pin N lives in sysfs. Kernels >= 6.6 (Raspberry Pi OS Bookworm and later) number
 * sysfs GPIOs from the chip's base: the header chip is found by its label in
 * <root>/gpiochip<base>/label and BCM pin N is base + N (512 on Pi 3/4, 571 on Pi 5, 0 on old
 * kernels). The root is injectable so the mapping is testable against fake trees.
 */

export const DEFAULT_SYSFS_ROOT = '/sys/class/gpio';

/** Header chip labels, most specific first (a Pi 5 also has pinctrl-bcm2712 chips: not these). */
export const HEADER_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'] as const;

export interface GpioChipInfo {
  /** directory name, e.g. gpiochip512 */
  chip: string;
  label: string;
  base: number;
  ngpio: number;
}

function readTrim(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

/** Every gpiochip under the root, sorted by base. Unreadable chips are skipped. */
export function listGpioChips(root = DEFAULT_SYSFS_ROOT): GpioChipInfo[] {
  if (!existsSync(root)) {
    throw new EdgeError(
      'EDGE_GPIO_SYSFS_MISSING',
      `${root} does not exist: this is not a Raspberry Pi, or the kernel has no sysfs GPIO (CONFIG_GPIO_SYSFS); use gates.binding: simulated off-Pi`,
    );
  }
  const chips: GpioChipInfo[] = [];
  for (const name of readdirSync(root)) {
    if (!name.startsWith('gpiochip')) continue;
    try {
      const dir = join(root, name);
      const base = Number(readTrim(join(dir, 'base')));
      const ngpio = Number(readTrim(join(dir, 'ngpio')));
      if (!Number.isInteger(base) || !Number.isInteger(ngpio)) continue;
      chips.push({ chip: name, label: readTrim(join(dir, 'label')), base, ngpio });
    } catch {
      /* a chip directory without label/base/ngpio is not one we can use */
    }
  }
  return chips.sort((a, b) => a.base - b.base);
}

/** The chip carrying the 40-pin header (or the one with the configured label). */
export function findHeaderChip(root = DEFAULT_SYSFS_ROOT, label?: string): GpioChipInfo {
  const chips = listGpioChips(root);
  const wanted = label ? [label] : HEADER_CHIP_LABELS;
  for (const l of wanted) {
    const chip = chips.find((c) => c.label === l);
    if (chip) return chip;
  }
  const seen = chips.map((c) => `${c.chip}=${c.label}`).join(', ') || 'none';
  throw new EdgeError(
    'EDGE_GPIO_CHIP_NOT_FOUND',
    `no GPIO chip labelled ${wanted.join(' / ')} under ${root} (chips: ${seen})`,
    { details: { root, chips } },
  );
}

/** The sysfs GPIO number of a BCM pin on this chip. */
export function sysfsNumber(chip: GpioChipInfo, bcmPin: number): number {
  if (!Number.isInteger(bcmPin) || bcmPin < 0 || bcmPin >= chip.ngpio) {
    throw new EdgeError(
      'EDGE_GPIO_PIN_INVALID',
      `BCM pin ${bcmPin} is outside ${chip.chip} (${chip.label}, ${chip.ngpio} lines)`,
    );
  }
  return chip.base + bcmPin;
}

/**
 * Turns an errno from sysfs into an EdgeError a technician can act on.
 * `what` names the pin: "BCM 17 (gpio529)".
 */
export function gpioErrorFrom(err: unknown, what: string, root = DEFAULT_SYSFS_ROOT): EdgeError {
  if (err instanceof EdgeError) return err;
  const e = err as NodeJS.ErrnoException;
  const path = e.path ?? root;
  const detail = `${e.code ?? 'error'}: ${e.message}`;
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      return new EdgeError(
        'EDGE_GPIO_PERMISSION',
        `${what}: no permission on ${path}; run the gateway as root or as a user in the 'gpio' group (Raspberry Pi OS udev rules give that group the sysfs GPIO files) [${detail}]`,
        { cause: err },
      );
    case 'EBUSY':
      return new EdgeError(
        'EDGE_GPIO_PIN_BUSY',
        `${what} is busy: a kernel driver or device-tree overlay (SPI, I2C, UART, 1-wire, gpio-shutdown...) or a libgpiod user holds it; pick another pin or remove the overlay [${detail}]`,
        { cause: err },
      );
    case 'EINVAL':
      return new EdgeError(
        'EDGE_GPIO_PIN_INVALID',
        `${what}: sysfs rejected the GPIO number (wrong chip base? kernels >= 6.6 number from the chip base) [${detail}]`,
        { cause: err },
      );
    case 'ENOENT':
      if (path === join(root, 'export') || path === root)
        return new EdgeError(
          'EDGE_GPIO_SYSFS_MISSING',
          `${root}/export does not exist: no sysfs GPIO on this kernel [${detail}]`,
          { cause: err },
        );
      return new EdgeError(
        'EDGE_GPIO_EXPORT_FAILED',
        `${what}: ${path} did not appear after export [${detail}]`,
        { cause: err },
      );
    default:
      return new EdgeError('EDGE_GPIO_IO', `${what}: ${detail}`, { cause: err });
  }
}
