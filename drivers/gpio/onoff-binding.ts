import type { GpioBinding } from './binding.js';

/**
 * Raspberry Pi GPIO through onoff (sysfs). Loaded only inside the gate-controller process.
 * The full backend (chip base offset on kernels >= 6.6, permissions, inputs) is issue 6.
 */
export async function createOnoffBinding(): Promise<GpioBinding> {
  const { Gpio } = await import('onoff');
  if (!Gpio.accessible) {
    throw new Error(
      'sysfs GPIO is not accessible on this machine (/sys/class/gpio missing or no permission)',
    );
  }
  throw new Error(
    'the onoff GPIO backend is not built yet (issue 6): use gates.binding: simulated',
  );
}
