/**
 * Entry point of the gate-controller process (forked by the gateway's GateLink). It owns the
 * GPIO binding in its main thread (onoff's epoll addon is not context-aware, so never a worker
 * thread), holds the gate schedule and goes to the safe state by itself when the gateway stops
 * answering. Nothing else runs here: no SQLite, no HTTP, no MQTT, so the gate path never waits
 * on the gateway's event loop.
 *
 * What the hardware does when this process dies, and how it comes back:
 * - Clean stop, SIGTERM, gateway gone (IPC disconnect): every output is written to its safe
 *   value, then unexported (the pin becomes an input: the driver board's pull resistor must
 *   hold the same de-energised, safe level).
 * - Crash or SIGKILL: sysfs keeps every exported pin at its LAST level; the kernel does not
 *   know the process died. A gate that was mid-pulse stays diverting. Three things bound this:
 *   1. the gateway's GateLink sees the exit at once, reports it (health: degraded,
 *      EDGE_GATE_CONTROLLER_DOWN, restarts counter) and forks a new controller within
 *      200 ms x restarts (max 5 s); the new controller re-opens the still-exported pins with
 *      their safe value as the first write, before it accepts any command;
 *   2. wiring: a de-energised gate does not divert, and the straight-through lane is the
 *      inspection lane (config/loader enforces it), so a gate that stops firing fails safe;
 *   3. `gates.watchdogOutput`: a square wave toggled only while the controller is armed; an
 *      external retriggerable timer relay (safety relay) in the gate solenoids' supply drops
 *      out when it stops, so a dead or hung controller (or Pi) cannot hold a gate on.
 * - Gateway hung (heartbeats stop, IPC still open): after safeStateAfterMs this process goes
 *   safe itself and re-arms when heartbeats come back.
 * - Gateway still starting: this process arms on the gateway's first heartbeat, which the
 *   gateway sends once it runs; until then it stays `starting` (outputs safe, fire commands
 *   refused: parcels go straight on, to inspection) and silence is not judged.
 */
import { setPriority, getPriority } from 'node:os';
import type { GpioBinding } from '../../../drivers/gpio/binding.js';
import { SimulatedGpioBinding } from '../../../drivers/gpio/simulated-binding.js';
import { systemClock } from '../../clock.js';
import { ControllerInputs } from './gate-inputs.js';
import { GateScheduler, type SchedulerTimers } from './gate-scheduler.js';
import type { ControllerSettings, FromController, ToController } from '../protocol.js';

const send = (msg: FromController): void => {
  if (!process.connected) return;
  try {
    process.send?.(msg);
  } catch {
    /* the channel closed under us: 'disconnect' follows and shuts down */
  }
};

const timers: SchedulerTimers = {
  monoMs: systemClock.monoMs,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

async function createBinding(settings: ControllerSettings): Promise<GpioBinding> {
  if (settings.binding === 'simulated') return new SimulatedGpioBinding(systemClock.monoMs);
  const mod = await import('../../../drivers/gpio/onoff-binding.js');
  return mod.createOnoffBinding({
    timers,
    sysfsRoot: settings.sysfsRoot,
    ...(settings.chipLabel ? { chipLabel: settings.chipLabel } : {}),
    warn: (error) => send({ t: 'error', error, code: 'EDGE_GPIO_IO' }),
  });
}

/** Ask for a better scheduling priority; refused without CAP_SYS_NICE, which is fine. */
function raisePriority(nice: number): number | null {
  try {
    setPriority(0, nice);
  } catch {
    /* not allowed: keep the default */
  }
  try {
    return getPriority(0);
  } catch {
    return null;
  }
}

let binding: GpioBinding | null = null;
let scheduler: GateScheduler | null = null;
let inputs: ControllerInputs | null = null;
const intervals: NodeJS.Timeout[] = [];
let configuring = false;

function shutdown(code: number): void {
  for (const t of intervals) clearInterval(t);
  try {
    scheduler?.close();
    inputs?.close();
    binding?.close();
  } finally {
    scheduler = null;
    process.exit(code);
  }
}

async function configure(settings: ControllerSettings): Promise<void> {
  const nice = raisePriority(settings.nice);
  let b: GpioBinding;
  try {
    b = await createBinding(settings);
  } catch (err) {
    const e = err as Error & { code?: string };
    send({ t: 'error', error: `GPIO binding failed: ${e.message}`, code: e.code });
    return;
  }
  binding = b;
  let s: GateScheduler;
  try {
    s = new GateScheduler(b, settings, timers, send);
  } catch (err) {
    const e = err as Error & { code?: string };
    send({ t: 'error', error: `cannot open outputs: ${e.message}`, code: e.code });
    b.close();
    return;
  }
  const roles = new Map(settings.inputs.map((i) => [i.id, i.role]));
  const ins = new ControllerInputs(
    b,
    settings.inputs,
    timers,
    (id, _role, value) => s.onInput(id, roles.get(id) ?? 'photoEye', value),
    send,
  );
  let levels: Record<string, 0 | 1>;
  try {
    levels = ins.start();
  } catch (err) {
    const e = err as Error & { code?: string };
    send({ t: 'error', error: `cannot open inputs: ${e.message}`, code: e.code });
    s.close();
    b.close();
    return;
  }
  scheduler = s;
  inputs = ins;
  for (const spec of settings.inputs)
    if (spec.role === 'estop' && levels[spec.id] === 1) s.onInput(spec.id, 'estop', 1);
  s.begin();
  const every = Math.max(10, Math.min(settings.heartbeatIntervalMs, settings.safeStateAfterMs / 4));
  intervals.push(setInterval(() => s.checkHeartbeat(), every));
  intervals.push(
    setInterval(
      () => send({ t: 'hb', mono: systemClock.monoMs(), state: s.currentState }),
      settings.heartbeatIntervalMs,
    ),
  );
  send({
    t: 'ready',
    pid: process.pid,
    binding: b.name,
    outputs: settings.outputs.map((o) => o.id),
    inputs: levels,
    chip: b.detail ?? null,
    nice,
  });
}

process.on('message', (raw: unknown) => {
  const msg = raw as ToController;
  switch (msg.t) {
    case 'configure':
      if (configuring) return;
      configuring = true;
      void configure(msg.settings);
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
      scheduler.fire(
        msg.id,
        msg.output,
        msg.immediate ? systemClock.monoMs() : msg.atMono,
        msg.parcelId,
        msg.holdMs,
      );
      return;
    case 'cancel':
      scheduler?.cancel(msg.id);
      return;
    case 'release':
      scheduler?.release(msg.output, 'released by the gateway');
      return;
    case 'set':
      if (scheduler && !scheduler.set(msg.output, msg.value))
        send({
          t: 'error',
          error: `'${msg.output}' is not a lamp or beacon`,
          code: 'EDGE_GATE_UNKNOWN_OUTPUT',
        });
      return;
    case 'safe':
      scheduler?.goSafe('commanded', msg.reason);
      return;
    case 'arm':
      scheduler?.clearSafe('commanded', 'armed by the gateway');
      return;
    case 'simInput':
      try {
        inputs?.simulate(msg.input, msg.value);
      } catch (err) {
        send({ t: 'error', error: (err as Error).message, code: 'EDGE_GPIO_CONFIG' });
      }
      return;
    case 'shutdown':
      shutdown(0);
      return;
  }
});

// The gateway died or closed the channel: safe state, unexport, exit.
process.on('disconnect', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => {
  /* the gateway decides; a terminal Ctrl-C reaches the whole process group */
});
process.on('uncaughtException', (err) => {
  send({
    t: 'error',
    error: `controller crashed: ${err.message}`,
    code: 'EDGE_GATE_CONTROLLER_DOWN',
  });
  shutdown(1);
});
