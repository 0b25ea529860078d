import type { ClientSession } from 'node-opcua-client';
import type { Logger } from 'pino';
import type { Clock } from '../../edge/clock.js';
import type { SignalMonitor } from './signal-monitor.js';

/**
 * Publish responses (data, events or keep-alives) prove that a subscription is alive. When none
 * arrives for max(5 s, 3 x keepAliveCount x publishing interval) the server or the network is
 * stalled even if the socket looks open: the link is reported stalled (what depends on it must
 * not be trusted) and the subscription is re-created on the session; once that works, the link
 * is reported recovered. A failed re-creation is retried after the same silence.
 */

export interface WatchdogDeps {
  clock: Clock;
  log: Logger;
  monitor: SignalMonitor;
  keepAliveCount: number;
  /** the current session, null while there is none */
  session(): ClientSession | null;
  namespaces(): string[];
  /** first silence: the link is stalled */
  stalled(): void;
  /** the subscription was re-created after a stall */
  recovered(): void;
  stopped(): boolean;
}

export class SubscriptionWatchdog {
  private lastAliveMono = 0;
  private rebuilding = false;
  private isStalled = false;
  recreated = 0;

  constructor(private readonly deps: WatchdogDeps) {}

  /** A publish response (or a fresh subscription) arrived. */
  alive(): void {
    this.lastAliveMono = this.deps.clock.monoMs();
  }

  get stalled(): boolean {
    return this.isStalled;
  }

  check(now: number): void {
    const interval = this.deps.monitor.revisedPublishingIntervalMs ?? 1000;
    const limit = Math.max(5000, 3 * this.deps.keepAliveCount * interval);
    const session = this.deps.session();
    if (this.rebuilding || now - this.lastAliveMono < limit || !session) return;
    this.rebuilding = true;
    this.deps.log.warn(
      { silentMs: now - this.lastAliveMono },
      'subscription silent: re-creating it',
    );
    if (!this.isStalled) {
      this.isStalled = true;
      this.deps.stalled();
    }
    void this.rebuild(session);
  }

  private async rebuild(session: ClientSession): Promise<void> {
    try {
      await this.deps.monitor.terminate();
      await this.deps.monitor.build(session, this.deps.namespaces());
      this.recreated++;
      this.alive();
      if (this.isStalled && !this.deps.stopped()) {
        this.isStalled = false;
        this.deps.recovered();
      }
    } catch (err) {
      this.deps.log.warn({ err }, 'subscription re-creation failed');
      this.alive();
    } finally {
      this.rebuilding = false;
    }
  }
}
