import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HttpUser } from '../../config/schema.js';
import type { EdgeEvent } from '../events/model.js';
import { parseBasic, UserDirectory } from './auth.js';
import type { HttpState } from './sessions.js';

/**
 * Prometheus metrics (prom-client, its own registry: no global state). Counters and the gate
 * lateness histogram follow the committed events; gauges are read at scrape time from the
 * gateway's health. GET /metrics answers only the configured read-only credential
 * (`http.metrics`), never a console session or user: a scraper's password opens nothing else.
 */
export interface MetricsSources {
  health: () => Record<string, unknown>;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly decisions: Counter<'lane' | 'rule'>;
  private readonly inducted: Counter;
  private readonly gateFailures: Counter<'gate'>;
  private readonly alarms: Counter<'type'>;
  private readonly lateness: Histogram<'gate'>;

  constructor(sources: MetricsSources) {
    const r = [this.registry];
    this.decisions = new Counter({
      name: 'edge_parcel_decisions_total',
      help: 'Parcel decisions by lane and rule (revised decisions count again)',
      labelNames: ['lane', 'rule'],
      registers: r,
    });
    this.inducted = new Counter({
      name: 'edge_parcels_inducted_total',
      help: 'Parcels inducted at the infeed photo-eye',
      registers: r,
    });
    this.gateFailures = new Counter({
      name: 'edge_gate_failures_total',
      help: 'Gate commands that failed (the parcel rode straight on to inspection)',
      labelNames: ['gate'],
      registers: r,
    });
    this.alarms = new Counter({
      name: 'edge_alarms_total',
      help: 'Alarm events by type',
      labelNames: ['type'],
      registers: r,
    });
    this.lateness = new Histogram({
      name: 'edge_gate_lateness_ms',
      help: 'How late a gate fired after its scheduled time, ms',
      labelNames: ['gate'],
      buckets: [0.5, 1, 2, 5, 10, 20, 50, 100],
      registers: r,
    });
    const obj = (v: unknown) =>
      v && typeof v === 'object' ? (v as Record<string, unknown>) : ({} as Record<string, unknown>);
    const num = (v: unknown) => (typeof v === 'number' ? v : 0);
    new Gauge({
      name: 'edge_outbox_pending',
      help: 'Events stored and not yet acknowledged by the platform',
      registers: r,
      collect() {
        this.set(num(obj(sources.health().outbox).pending));
      },
    });
    new Gauge({
      name: 'edge_uplink_connected',
      help: 'Uplink state (1 for the current state)',
      labelNames: ['state'],
      registers: r,
      collect() {
        this.reset();
        const state = obj(sources.health().uplink).state;
        this.set({ state: typeof state === 'string' ? state : 'none' }, 1);
      },
    });
    new Gauge({
      name: 'edge_driver_up',
      help: 'Driver health: 1 running, 0 otherwise',
      labelNames: ['driver', 'kind', 'state'],
      registers: r,
      collect() {
        this.reset();
        const drivers = sources.health().drivers;
        for (const d of Array.isArray(drivers) ? drivers : []) {
          const x = obj(d);
          this.set(
            { driver: String(x.id), kind: String(x.kind), state: String(x.state) },
            x.state === 'running' ? 1 : 0,
          );
        }
      },
    });
    new Gauge({
      name: 'edge_line_ok',
      help: 'Line state: 1 running without fail-safe, E-stop or jam; reason as a label',
      labelNames: ['state', 'reason'],
      registers: r,
      collect() {
        this.reset();
        const line = obj(sources.health().line);
        const state = typeof line.state === 'string' ? line.state : 'unknown';
        const reason = typeof line.reason === 'string' ? line.reason : 'none';
        this.set({ state, reason }, reason === 'none' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'edge_parcels_tracked',
      help: 'Parcels tracked on the belt now',
      registers: r,
      collect() {
        this.set(num(obj(sources.health().engine).tracked));
      },
    });
  }

  /** Count what the outbox committed. */
  apply(events: readonly EdgeEvent[]): void {
    for (const e of events) {
      const p = e.payload;
      if (e.type === 'parcel.decided')
        this.decisions.inc({ lane: String(p.lane), rule: String(p.ruleId) });
      else if (e.type === 'parcel.inducted') this.inducted.inc();
      else if (e.type === 'gate.fired' && typeof p.latenessMs === 'number')
        this.lateness.observe({ gate: String(p.gateId) }, p.latenessMs);
      else if (e.type === 'gate.failed') this.gateFailures.inc({ gate: String(p.gateId) });
      else if (e.type.startsWith('alarm.')) this.alarms.inc({ type: e.type });
    }
  }
}

/** GET /metrics behind its own credential; absent credential: the route answers 404. */
export function metricsRoute(
  app: FastifyInstance,
  deps: { metrics?: GatewayMetrics; credential?: HttpUser | undefined; state: HttpState },
): void {
  const { metrics, credential, state } = deps;
  const scraper = credential ? new UserDirectory([credential]) : null;
  app.get(
    '/metrics',
    { config: { public: true }, schema: { tags: ['metrics'], hide: false } },
    async (req, reply) => {
      if (!metrics || !scraper)
        return reply.code(404).send({
          code: 'EDGE_HTTP_NOT_FOUND',
          message: 'metrics need http.metrics in the configuration',
        });
      const basic = parseBasic(req.headers.authorization);
      const attempt = { address: req.ip, user: `metrics:${basic?.name ?? ''}`, device: null };
      const refused = state.throttle.refused(attempt);
      if (refused)
        return reply.code(429).send({ code: 'EDGE_HTTP_AUTH_REQUIRED', message: refused });
      const ok = basic ? await scraper.verify(basic.name, basic.password) : null;
      if (!ok) {
        if (basic) state.throttle.failed(attempt);
        return reply
          .code(401)
          .header('www-authenticate', 'Basic realm="metrics"')
          .send({ code: 'EDGE_HTTP_AUTH_REQUIRED', message: 'metrics credential required' });
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );
}
