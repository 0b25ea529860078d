import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useT } from '../i18n.js';
import { errorText, ReasonChips } from '../inspector/common.js';
import '../inspector/inspector.css';
import { localTime, shortId } from '../inspector/types.js';
import type { PageProps } from '../types.js';

/**
 * The shift report (#/shift-report): queue entries of a period by reason, how long they waited
 * for the first decision, decisions by action and by officer, one row per entry. Printable (the
 * console's header and navigation are left out of the print) and exported as CSV by the server
 * (/api/inspector/report?format=csv, UTF-8 with BOM, cells safe for spreadsheets).
 */

interface Report {
  from: string;
  to: string;
  generatedAt: string;
  flags: { total: number; byReason: Record<string, number> };
  waiting: {
    decided: number;
    medianS: number | null;
    p90S: number | null;
    maxS: number | null;
    open: number;
    oldestOpenS: number | null;
  };
  decisions: {
    total: number;
    byAction: Record<string, number>;
    byOfficer: Record<string, Record<string, number>>;
  };
  rows: {
    parcelId: string;
    waybill: string | null;
    flaggedAt: string;
    reasons: string;
    verdict: string | null;
    status: string;
    decision: string | null;
    officer: string | null;
    decidedAt: string | null;
    waitS: number | null;
    note: string | null;
  }[];
  truncated: boolean;
}

/** A datetime-local input value (local time, minutes) <-> ISO. */
const toLocalInput = (ms: number) => {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};
const fromLocalInput = (v: string) => new Date(v).toISOString();

export default function ShiftReport({ session }: PageProps) {
  const t = useT('inspector');
  const [from, setFrom] = useState(() => toLocalInput(Date.now() - 8 * 3_600_000));
  const [to, setTo] = useState(() => toLocalInput(Date.now() + 60_000));
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<string | null>(null);

  const query = () =>
    `from=${encodeURIComponent(fromLocalInput(from))}&to=${encodeURIComponent(fromLocalInput(to))}`;
  const load = () => {
    setError(null);
    api
      .get<Report>(`/api/inspector/report?${query()}`)
      .then(setReport)
      .catch((err: unknown) => setError(errorText(t, err)));
  };
  useEffect(load, []);

  const preset = (hours: number | 'today') => {
    const now = Date.now();
    const start =
      hours === 'today'
        ? new Date(new Date().setHours(0, 0, 0, 0)).getTime()
        : now - hours * 3_600_000;
    setFrom(toLocalInput(start));
    setTo(toLocalInput(now + 60_000));
  };
  const secs = (n: number | null) => (n === null ? '–' : t('seconds', { n }));

  return (
    <div class="insp-report insp-print">
      <div class="insp-toolbar">
        <h1>{t('reportTitle')}</h1>
        <span class="spacer" />
        <div class="insp-toolbar no-print">
          <button class="ghost" onClick={() => preset(8)}>
            {t('last8h')}
          </button>
          <button class="ghost" onClick={() => preset(12)}>
            {t('last12h')}
          </button>
          <button class="ghost" onClick={() => preset('today')}>
            {t('today')}
          </button>
          <label>
            {t('from')}{' '}
            <input
              type="datetime-local"
              value={from}
              onInput={(e) => setFrom((e.target as HTMLInputElement).value)}
            />
          </label>
          <label>
            {t('to')}{' '}
            <input
              type="datetime-local"
              value={to}
              onInput={(e) => setTo((e.target as HTMLInputElement).value)}
            />
          </label>
          <button onClick={load}>{t('show')}</button>
          <button class="ghost" onClick={() => print()} disabled={!report}>
            {t('print')}
          </button>
          <a
            class="insp-button"
            href={`/api/inspector/report?${query()}&format=csv`}
            download
            data-testid="export-csv"
          >
            {t('exportCsv')}
          </a>
        </div>
      </div>
      {error ? <p class="error">{error}</p> : null}
      {!report && !error ? <p class="empty">{t('loading')}</p> : null}
      {report ? (
        <>
          <p class="insp-hint">
            {localTime(report.from)} – {localTime(report.to)} ·{' '}
            {t('generatedAt', { time: localTime(report.generatedAt), who: session.name })}
          </p>
          <section class="insp-cards" data-testid="report-summary">
            <div class="insp-card">
              <h2>{t('byReason')}</h2>
              <table>
                <tbody>
                  {Object.entries(report.flags.byReason)
                    .filter(([, n]) => n > 0)
                    .map(([r, n]) => (
                      <tr key={r} data-reason={r}>
                        <td>{t(`reason_${r}`)}</td>
                        <td>{n}</td>
                      </tr>
                    ))}
                  <tr>
                    <td>
                      <b>{t('total')}</b>
                    </td>
                    <td>
                      <b data-testid="report-total">{report.flags.total}</b>
                    </td>
                  </tr>
                </tbody>
              </table>
            </div>
            <div class="insp-card">
              <h2>{t('waitingTimes')}</h2>
              <table>
                <tbody>
                  <tr>
                    <td>{t('waitDecided')}</td>
                    <td>{report.waiting.decided}</td>
                  </tr>
                  <tr>
                    <td>{t('waitMedian')}</td>
                    <td>{secs(report.waiting.medianS)}</td>
                  </tr>
                  <tr>
                    <td>{t('waitP90')}</td>
                    <td>{secs(report.waiting.p90S)}</td>
                  </tr>
                  <tr>
                    <td>{t('waitMax')}</td>
                    <td>{secs(report.waiting.maxS)}</td>
                  </tr>
                  <tr>
                    <td>{t('waitOpen')}</td>
                    <td>{report.waiting.open}</td>
                  </tr>
                  <tr>
                    <td>{t('waitOldest')}</td>
                    <td>{secs(report.waiting.oldestOpenS)}</td>
                  </tr>
                </tbody>
              </table>
            </div>
            <div class="insp-card">
              <h2>{t('byAction')}</h2>
              <table>
                <tbody>
                  {Object.entries(report.decisions.byAction).map(([a, n]) => (
                    <tr key={a} data-action={a}>
                      <td>{t(`action_${a}`)}</td>
                      <td>{n}</td>
                    </tr>
                  ))}
                  <tr>
                    <td>
                      <b>{t('total')}</b>
                    </td>
                    <td>
                      <b>{report.decisions.total}</b>
                    </td>
                  </tr>
                </tbody>
              </table>
              <h2>{t('byOfficer')}</h2>
              <table>
                <tbody>
                  {Object.entries(report.decisions.byOfficer).map(([o, counts]) => (
                    <tr key={o}>
                      <td>{o}</td>
                      <td>
                        {Object.entries(counts)
                          .map(([a, n]) => `${t(`action_${a}`)} ${n}`)
                          .join(' · ')}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          <section>
            <h2>{t('entries')}</h2>
            {report.truncated ? (
              <p class="notice">{t('truncated', { n: report.rows.length })}</p>
            ) : null}
            <table class="insp-table" data-testid="report-rows">
              <thead>
                <tr>
                  <th>{t('flaggedAt')}</th>
                  <th>{t('col_waybill')}</th>
                  <th>{t('col_parcel')}</th>
                  <th>{t('col_reason')}</th>
                  <th>{t('col_verdict')}</th>
                  <th>{t('col_decision')}</th>
                  <th>{t('col_officer')}</th>
                  <th>{t('col_waiting')}</th>
                  <th>{t('col_note')}</th>
                </tr>
              </thead>
              <tbody>
                {report.rows.map((r) => (
                  <tr key={r.parcelId}>
                    <td>{localTime(r.flaggedAt)}</td>
                    <td class="mono">{r.waybill ?? t('noRead')}</td>
                    <td class="mono" title={r.parcelId}>
                      {shortId(r.parcelId)}
                    </td>
                    <td>
                      <ReasonChips reasons={r.reasons ? r.reasons.split(' ') : []} />
                    </td>
                    <td>{r.verdict ? t(`verdict_${r.verdict}`) : '–'}</td>
                    <td>{r.decision ? t(`action_${r.decision}`) : t(`status_${r.status}`)}</td>
                    <td>{r.officer ?? ''}</td>
                    <td>{secs(r.waitS)}</td>
                    <td>{r.note ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      ) : null}
    </div>
  );
}
