import type { Logger } from 'pino';

/**
 * Alarms of the outbox: a quota that had to drop undelivered records, events that could not be
 * stored on a full disk, an outbox that does not drain while the uplink is connected, and a
 * database file that was unusable and moved aside. Each is logged as an error and handed to every listener; a
 * listener that throws is logged and does not stop the others.
 */

export interface OutboxAlarm {
  code: 'EDGE_OUTBOX_QUOTA' | 'EDGE_OUTBOX_FULL' | 'EDGE_OUTBOX_STUCK' | 'EDGE_OUTBOX_CORRUPT';
  message: string;
  details: Record<string, unknown>;
}

export class OutboxAlarms {
  private readonly listeners = new Set<(alarm: OutboxAlarm) => void>();

  constructor(private readonly log: Logger) {}

  on(listener: (alarm: OutboxAlarm) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  raise(alarm: OutboxAlarm): void {
    this.log.error({ code: alarm.code, details: alarm.details }, alarm.message);
    for (const l of this.listeners) {
      try {
        l(alarm);
      } catch (err) {
        this.log.error({ err }, 'alarm listener threw');
      }
    }
  }
}
