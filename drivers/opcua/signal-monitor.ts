import {
  AttributeIds,
  ClientMonitoredItem,
  constructEventFilter,
  DataChangeFilter,
  DataChangeTrigger,
  DeadbandType,
  ofType,
  TimestampsToReturn,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  type Variant,
} from 'node-opcua-client';
import type { OpcuaServerConfig, OpcuaSignalConfig } from './config-schema.js';
import { resolveEventType } from './event-type.js';
import { qualify, resolveAddress } from './node-address.js';
import {
  EVENT_QUEUE_OVERFLOW_EVENT_TYPE,
  eventSelect,
  signalSource,
  type FieldKey,
} from './signal-mapping.js';

/**
 * One subscription per server carrying every configured signal as a monitored item. Items are
 * created one by one so a bad nodeId fails only its own signal. Queues are sized per signal
 * (default 1000, discardOldest false) so a burst inside one publishing interval is delivered
 * whole; sampling interval 0 asks for the fastest sampling the server offers.
 */

export interface SignalSink {
  event(
    signal: OpcuaSignalConfig,
    fields: Partial<Record<FieldKey, unknown>>,
    timeMs: number | null,
  ): void;
  dataChange(signal: OpcuaSignalConfig, value: unknown, sourceTimeMs: number | null): void;
  overflow(signal: OpcuaSignalConfig): void;
  monitoring(
    signal: OpcuaSignalConfig,
    nodeId: string,
    revised: { samplingIntervalMs: number | null; queueSize: number | null },
  ): void;
  failed(signal: OpcuaSignalConfig, err: Error): void;
  /** any publish response (notifications or keep-alive): the subscription is alive */
  alive(): void;
}

const ITEM_TIMEOUT_MS = 10_000;

export class SignalMonitor {
  subscription: ClientSubscription | null = null;
  private readonly items = new Map<string, ClientMonitoredItem>();

  constructor(
    private readonly server: OpcuaServerConfig,
    private readonly sink: SignalSink,
  ) {}

  get subscriptionId(): number | null {
    const id = this.subscription?.subscriptionId;
    return typeof id === 'number' && id > 0 && id < 0xfffffff0 ? id : null;
  }

  get revisedPublishingIntervalMs(): number | null {
    return this.subscription ? this.subscription.publishingInterval : null;
  }

  async build(session: ClientSession, namespaces: readonly string[]): Promise<void> {
    const subscription = await session.createSubscription2({
      // 0 = the fastest the server allows; node-opcua's client turns 0 into 100 ms, so ask for 1
      requestedPublishingInterval: this.server.publishingIntervalMs || 1,
      requestedMaxKeepAliveCount: this.server.keepAliveCount,
      requestedLifetimeCount: this.server.lifetimeCount,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 100,
    });
    this.subscription = subscription;
    subscription.on('keepalive', () => this.sink.alive());
    subscription.on('received_notifications', () => this.sink.alive());
    for (const signal of this.server.signals) {
      try {
        await this.monitor(subscription, session, namespaces, signal);
      } catch (err) {
        this.sink.failed(signal, err as Error);
      }
    }
  }

  private async monitor(
    subscription: ClientSubscription,
    session: ClientSession,
    namespaces: readonly string[],
    signal: OpcuaSignalConfig,
  ): Promise<void> {
    const nodeId = await resolveAddress(session, signal, namespaces, `signal ${signal.name}`);
    const isEvent = signalSource(signal) === 'event';
    let item: ClientMonitoredItem;
    let keys: FieldKey[] = [];
    if (isEvent) {
      const select = eventSelect(signal);
      keys = select.keys;
      const names = select.names.map((n) => qualify(n, select.namespaceUri, namespaces));
      const where = select.eventType
        ? ofType(await resolveEventType(session, select.eventType, namespaces))
        : undefined;
      const filter = constructEventFilter(['EventId', 'EventType', 'Time', ...names], where);
      item = ClientMonitoredItem.create(
        subscription,
        { nodeId, attributeId: AttributeIds.EventNotifier },
        {
          samplingInterval: 0,
          queueSize: signal.queueSize,
          discardOldest: signal.discardOldest,
          filter,
        },
        TimestampsToReturn.Both,
      );
    } else {
      const filter = signal.deadband
        ? new DataChangeFilter({
            trigger: DataChangeTrigger.StatusValue,
            deadbandType:
              signal.deadband.type === 'percent' ? DeadbandType.Percent : DeadbandType.Absolute,
            deadbandValue: signal.deadband.value,
          })
        : null;
      item = ClientMonitoredItem.create(
        subscription,
        { nodeId, attributeId: AttributeIds.Value },
        {
          samplingInterval: signal.samplingIntervalMs,
          queueSize: signal.queueSize,
          discardOldest: signal.discardOldest,
          filter,
        },
        TimestampsToReturn.Both,
      );
    }
    this.items.set(signal.name, item);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`monitored item not created within ${ITEM_TIMEOUT_MS} ms`)),
        ITEM_TIMEOUT_MS,
      );
      item.once('initialized', () => {
        clearTimeout(timer);
        resolve();
      });
      item.once('err', (message: string) => {
        clearTimeout(timer);
        reject(new Error(`${nodeId.toString()}: ${message}`));
      });
    });
    if (isEvent) {
      item.on('changed', (values: Variant[]) => this.onEvent(signal, keys, values));
    } else {
      item.on('changed', (dv: DataValue) => this.onData(signal, dv));
    }
    item.on('err', (message: string) => this.sink.failed(signal, new Error(message)));
    this.sink.monitoring(signal, nodeId.toString(), {
      samplingIntervalMs: item.result?.revisedSamplingInterval ?? null,
      queueSize: item.result?.revisedQueueSize ?? null,
    });
  }

  private onEvent(signal: OpcuaSignalConfig, keys: FieldKey[], values: Variant[]): void {
    const eventType = values[1]?.value as { toString(): string } | null | undefined;
    if (eventType && eventType.toString() === EVENT_QUEUE_OVERFLOW_EVENT_TYPE) {
      this.sink.overflow(signal);
      return;
    }
    const time = values[2]?.value as Date | null | undefined;
    const fields: Partial<Record<FieldKey, unknown>> = {};
    keys.forEach((k, i) => {
      fields[k] = values[i + 3]?.value as unknown;
    });
    this.sink.event(signal, fields, time instanceof Date ? time.getTime() : null);
  }

  private onData(signal: OpcuaSignalConfig, dv: DataValue): void {
    if (dv.statusCode.hasOverflowBit) this.sink.overflow(signal);
    if (!dv.statusCode.isGood()) return;
    const ts = dv.sourceTimestamp ?? dv.serverTimestamp;
    this.sink.dataChange(signal, dv.value.value as unknown, ts ? ts.getTime() : null);
  }

  /** Drop the subscription (the session may already be gone: errors are expected). */
  async terminate(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    this.items.clear();
    if (!subscription) return;
    subscription.removeAllListeners();
    await subscription.terminate().catch(() => undefined);
  }
}
