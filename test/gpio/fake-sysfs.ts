import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fake /sys/class/gpio with the chips a board's kernel shows. */
export function fakeSysfs(chips: { base: number; ngpio: number; label: string }[]): string {
  const root = mkdtempSync(join(tmpdir(), 'fake-gpio-'));
  writeFileSync(join(root, 'export'), '');
  writeFileSync(join(root, 'unexport'), '');
  for (const c of chips) {
    const dir = join(root, `gpiochip${c.base}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'base'), `${c.base}\n`);
    writeFileSync(join(dir, 'ngpio'), `${c.ngpio}\n`);
    writeFileSync(join(dir, 'label'), `${c.label}\n`);
  }
  return root;
}

// chip lists as the boards' kernels show them (Raspberry Pi OS Bookworm, kernel 6.6 / 6.12)
export const BOARDS = {
  pi3: [
    { base: 512, ngpio: 54, label: 'pinctrl-bcm2835' },
    { base: 566, ngpio: 8, label: 'raspberrypi-exp-gpio' },
  ],
  pi4: [
    { base: 512, ngpio: 58, label: 'pinctrl-bcm2711' },
    { base: 570, ngpio: 8, label: 'raspberrypi-exp-gpio' },
  ],
  pi5: [
    { base: 512, ngpio: 32, label: 'gpio-brcmstb@107d508500' },
    { base: 544, ngpio: 4, label: 'gpio-brcmstb@107d517c00' },
    { base: 548, ngpio: 17, label: 'gpio-brcmstb@107d508520' },
    { base: 565, ngpio: 6, label: 'gpio-brcmstb@107d517c20' },
    { base: 571, ngpio: 54, label: 'pinctrl-rp1' },
  ],
  oldKernel: [{ base: 0, ngpio: 54, label: 'pinctrl-bcm2835' }],
  oldKernelPi4: [
    { base: 0, ngpio: 58, label: 'pinctrl-bcm2711' },
    { base: 504, ngpio: 8, label: 'raspberrypi-exp-gpio' },
  ],
};
