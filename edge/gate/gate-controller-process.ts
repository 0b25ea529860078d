/**
 * Entry point of the gate-controller process (forked by the gateway). It owns the GPIO binding
 * in its main thread (onoff's epoll addon is not context-aware, so never a worker thread), holds
 * the gate schedule and goes to the safe state by itself when the gateway stops answering.
 */
import type { GpioBinding } from '../../drivers/gpio/binding.js';
import { SimulatedGpioBinding } from '../../drivers/gpio/simulated-binding.js';
import { systemClock } from '../clock.js';
import { GateScheduler, type SchedulerTimers } from './gate-scheduler.js';
import type { ControllerSettings, FromController, ToController } from './protocol.js';

const send = (msg: FromController): void => {
  if (process.connected) process.send?.(msg);
};

const timers: SchedulerTimers = {
  monoMs: systemClock.monoMs,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

async function createBinding(settings: ControllerSettings): Promise<GpioBinding> {
  if (settings.binding === 'simulated') return new SimulatedGpioBinding(systemClock.monoMs);
  const mod = await import('../../drivers/gpio/onoff-binding.js');
  return mod.createOnoffBinding();
}

let scheduler: GateScheduler | null = null;
let watchdog: NodeJS.Timeout | null = null;
let heartbeat: NodeJS.Timeout | null = null;

function shutdown(code: number): void {
  if (watchdog) clearInterval(watchdog);
  if (heartbeat) clearInterval(heartbeat);
  try {
    scheduler?.close();
  } finally {
    scheduler = null;
    process.exit(code);
  }
}

process.on('message', (raw: unknown) => {
  const msg = raw as ToController;
  switch (msg.t) {
    case 'configure':
      if (scheduler) return;
      createBinding(msg.settings).then(
        (binding) => {
          try {
            scheduler = new GateScheduler(binding, msg.settings, timers, send);
          } catch (err) {
            send({ t: 'error', error: `cannot open outputs: ${(err as Error).message}` });
            return;
          }
          const interval = Math.max(
            10,
            Math.min(msg.settings.heartbeatIntervalMs, msg.settings.safeStateAfterMs / 4),
          );
          watchdog = setInterval(() => scheduler?.checkHeartbeat(), interval);
          heartbeat = setInterval(
            () =>
              send({
                t: 'hb',
                mono: systemClock.monoMs(),
                state: scheduler?.currentState ?? 'starting',
              }),
            msg.settings.heartbeatIntervalMs,
          );
          send({
            t: 'ready',
            pid: process.pid,
            binding: binding.name,
            outputs: msg.settings.outputs.map((o) => o.id),
          });
        },
        (err: unknown) =>
          send({ t: 'error', error: `GPIO binding failed: ${(err as Error).message}` }),
      );
      return;
    case 'hb':
      scheduler?.heartbeat();
      return;
    case 'fire':
      if (!scheduler) {
        send({
          t: 'failed',
          id: msg.id,
          output: msg.output,
          parcelId: msg.parcelId,
          error: 'not configured',
        });
        return;
      }
      scheduler.fire(msg.id, msg.output, msg.atMono, msg.parcelId);
      return;
    case 'cancel':
      scheduler?.cancel(msg.id);
      return;
    case 'safe':
      scheduler?.goSafe(msg.reason);
      return;
    case 'shutdown':
      shutdown(0);
      return;
  }
});

// The gateway died or closed the channel: safe state, then exit.
process.on('disconnect', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => {
  /* the gateway decides; a terminal Ctrl-C reaches the whole group */
});
