import { EdgeError } from '../errors.js';
import type { GateCancel } from '../engine/types.js';
import { LatenessWindow } from './link-state.js';
import type { FromController, ToController } from './protocol.js';

/**
 * The gate commands out at the controller: each fire command gets an id and stays pending until
 * the controller reports it fired, failed or cancelled (or the controller goes away: then every
 * pending command fails). Fires are reported with their lateness and lead.
 */

export interface GateFired {
  gateId: string;
  parcelId: string | null;
  scheduledMono: number;
  actualMono: number;
  latenessMs: number;
  /** the command reached the controller this long before its time (negative: sent late) */
  leadMs: number;
}

export interface GateFailed {
  gateId: string;
  parcelId: string | null;
  error: string;
}

export interface FireCommand {
  gateId: string;
  parcelId: string | null;
  fireAtMono: number;
  holdMs?: number | undefined;
  immediate?: boolean;
}

type Settle = (result: GateFired | Error) => void;

interface Pending {
  command: { gateId: string; parcelId: string | null; fireAtMono: number };
  settle?: Settle;
}

/** What the command book reports through the link (counters, events, the IPC channel). */
export interface GateCommandsLink {
  count(name: string): void;
  send(msg: ToController): void;
  fired(fired: GateFired): void;
  failed(failed: GateFailed): void;
}

export class GateCommands {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly lateness = new LatenessWindow();

  constructor(private readonly link: GateCommandsLink) {}

  get size(): number {
    return this.pending.size;
  }

  latenessSummary(): ReturnType<LatenessWindow['summary']> {
    return this.lateness.summary();
  }

  /**
   * Send a fire command, or refuse it (`refusal`: why the controller cannot take it now); a
   * refusal is reported as `failed` and settles the command with an error.
   */
  dispatch(command: FireCommand, settle: Settle | undefined, refusal: string | null): void {
    const id = this.nextId++;
    if (refusal !== null) {
      this.link.count('commands.refused');
      this.link.failed({ gateId: command.gateId, parcelId: command.parcelId, error: refusal });
      settle?.(new EdgeError('EDGE_GATE_CONTROLLER_DOWN', refusal));
      return;
    }
    this.pending.set(id, { command, ...(settle ? { settle } : {}) });
    this.link.count('commands.sent');
    this.link.send({
      t: 'fire',
      id,
      output: command.gateId,
      atMono: command.fireAtMono,
      parcelId: command.parcelId,
      ...(command.holdMs !== undefined ? { holdMs: command.holdMs } : {}),
      ...(command.immediate ? { immediate: true } : {}),
    });
  }

  /** A fire command that resolves when it fired and rejects when it did not (or no answer in 5 s). */
  fireAndWait(command: FireCommand, refusal: () => string | null): Promise<GateFired> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        settle(new EdgeError('EDGE_GATE_CONTROLLER_DOWN', 'no answer from the gate controller'));
      }, 5000);
      let done = false;
      const settle = (r: GateFired | Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      this.dispatch(command, settle, refusal());
    });
  }

  /** Withdraw the pending commands for this parcel on this gate; false when none was pending. */
  cancel(cancel: GateCancel): boolean {
    let matched = false;
    for (const [id, p] of this.pending) {
      const c = p.command;
      if (c.gateId !== cancel.gateId || c.parcelId !== cancel.parcelId) continue;
      matched = true;
      this.link.count('commands.cancelled');
      this.link.send({ t: 'cancel', id });
    }
    if (!matched) this.link.count('commands.cancel_unmatched');
    return matched;
  }

  onFired(msg: Extract<FromController, { t: 'fired' }>): void {
    const p = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    const latenessMs = msg.actualMono - msg.scheduledMono;
    this.lateness.push(latenessMs);
    this.link.count('commands.fired');
    const fired: GateFired = {
      gateId: msg.output,
      parcelId: p?.command.parcelId ?? msg.parcelId,
      scheduledMono: msg.scheduledMono,
      actualMono: msg.actualMono,
      latenessMs,
      leadMs: msg.scheduledMono - msg.receivedMono,
    };
    p?.settle?.(fired);
    this.link.fired(fired);
  }

  onFailed(msg: Extract<FromController, { t: 'failed' }>): void {
    const p = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    this.link.count('commands.failed');
    p?.settle?.(new EdgeError('EDGE_GATE_CONTROLLER_DOWN', msg.error));
    this.link.failed({ gateId: msg.output, parcelId: msg.parcelId, error: msg.error });
  }

  onCancelled(msg: Extract<FromController, { t: 'cancelled' }>): void {
    const p = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    p?.settle?.(new EdgeError('EDGE_GATE_CONTROLLER_DOWN', 'cancelled'));
  }

  /** The controller went away (or the link stops): every pending command failed. */
  failAll(error: string): void {
    for (const p of this.pending.values()) {
      this.link.count('commands.failed');
      p.settle?.(new EdgeError('EDGE_GATE_CONTROLLER_DOWN', error));
      this.link.failed({ gateId: p.command.gateId, parcelId: p.command.parcelId, error });
    }
    this.pending.clear();
  }
}
