import { useEffect, useState } from 'preact/hooks';
import { api, sse } from '../api.js';
import { useT } from '../i18n.js';
import type { PageProps } from '../types.js';

/**
 * Events (the outbox: what the platform receives) searched by waybill, parcel, type and time;
 * and the gateway's log live with a level filter (pino is the source).
 */

interface EdgeEvent {
  id: string;
  seq: number;
  type: string;
  parcelId: string | null;
  time: string;
  payload: Record<string, unknown>;
}
interface LogLine {
  level: number;
  time: number;
  module: string | null;
  msg: string;
  line: Record<string, unknown>;
}

const LEVELS: [number, string][] = [
  [20, 'debug'],
  [30, 'info'],
  [40, 'warn'],
  [50, 'error'],
];

function toIso(local: string): string | null {
  if (!local) return null;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function Search() {
  const t = useT('events');
  const [form, setForm] = useState({ waybill: '', parcelId: '', type: '', from: '', to: '' });
  const [result, setResult] = useState<EdgeEvent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const run = async () => {
    const q = new URLSearchParams();
    if (form.waybill.trim()) q.set('waybill', form.waybill.trim());
    if (form.parcelId.trim()) q.set('parcelId', form.parcelId.trim());
    if (form.type.trim()) q.set('type', form.type.trim());
    const from = toIso(form.from);
    const to = toIso(form.to);
    if (from) q.set('from', from);
    if (to) q.set('to', to);
    try {
      setError(null);
      setResult((await api.get<{ events: EdgeEvent[] }>(`/api/events?${q.toString()}`)).events);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const field = (k: keyof typeof form, label: string, time = false) => (
    <label>
      {label}
      {time ? (
        <input
          name={k}
          type="datetime-local"
          value={form[k]}
          onInput={(e) => setForm({ ...form, [k]: e.currentTarget.value })}
        />
      ) : (
        <input
          name={k}
          value={form[k]}
          onInput={(e) => setForm({ ...form, [k]: e.currentTarget.value })}
        />
      )}
    </label>
  );
  return (
    <section class="card">
      <h2>{t('search')}</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        {field('waybill', t('waybill'))}
        {field('parcelId', t('parcel'))}
        <label>
          {t('type')}
          <input
            name="type"
            list="event-types"
            value={form.type}
            onInput={(e) => setForm({ ...form, type: e.currentTarget.value })}
          />
          <datalist id="event-types">
            {[
              'parcel.decided',
              'parcel.identified',
              'ct.verdict',
              'gate.fired',
              'gate.failed',
              'alarm.*',
              'audit',
            ].map((x) => (
              <option key={x} value={x} />
            ))}
          </datalist>
        </label>
        {field('from', t('from'), true)}
        {field('to', t('to'), true)}
        <button type="submit">{t('find')}</button>
      </form>
      {error ? <p class="error">{error}</p> : null}
      {result ? (
        result.length === 0 ? (
          <p class="empty">{t('none')}</p>
        ) : (
          <div class="scroll">
            <table data-testid="event-results">
              <thead>
                <tr>
                  <th>{t('time')}</th>
                  <th>{t('type')}</th>
                  <th>{t('parcel')}</th>
                  <th>{t('details')}</th>
                </tr>
              </thead>
              <tbody>
                {result.map((e) => (
                  <tr key={e.id} onClick={() => setOpen(open === e.id ? null : e.id)}>
                    <td>{new Date(e.time).toLocaleString()}</td>
                    <td>{e.type}</td>
                    <td class="mono">{e.parcelId ?? ''}</td>
                    <td class="mono">
                      {open === e.id
                        ? JSON.stringify(e.payload, null, 2)
                        : JSON.stringify(e.payload).slice(0, 120)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
    </section>
  );
}

function Logs() {
  const t = useT('events');
  const [level, setLevel] = useState(30);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [paused, setPaused] = useState(false);
  useEffect(() => {
    if (paused) return undefined;
    return sse(`/api/logs/stream?level=${level}&limit=200`, {
      snapshot: (d: { lines: LogLine[] }) => setLines(d.lines),
      line: (l: LogLine) => setLines((prev) => [...prev.slice(-499), l]),
    });
  }, [level, paused]);
  return (
    <section class="card">
      <div class="row">
        <h2>{t('logs')}</h2>
        <select
          value={level}
          onChange={(e) => setLevel(Number(e.currentTarget.value))}
          data-testid="log-level"
        >
          {LEVELS.map(([n, name]) => (
            <option key={n} value={n}>
              {name}+
            </option>
          ))}
        </select>
        <button class="ghost" onClick={() => setPaused(!paused)}>
          {paused ? t('resume') : t('pause')}
        </button>
      </div>
      <div class="scroll log mono" data-testid="log-lines">
        {lines.map((l, i) => (
          <div key={i} class={`lvl-${l.level}`}>
            {new Date(l.time).toLocaleTimeString()}{' '}
            {LEVELS.find(([n]) => n === l.level)?.[1] ?? l.level} {l.module ? `[${l.module}] ` : ''}
            {l.msg}
          </div>
        ))}
      </div>
    </section>
  );
}

export default function Events(_props: PageProps) {
  return (
    <div>
      <Search />
      <Logs />
    </div>
  );
}
