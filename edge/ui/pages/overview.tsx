import { useEffect, useState } from 'preact/hooks';
import { sse } from '../api.js';
import { StackLight } from '../components/header.js';
import { useT } from '../i18n.js';
import type { LineView, PageProps } from '../types.js';

/**
 * Line overview: the belt with its stations (infeed photo-eye, scanner, CT, diverters, lanes)
 * and the parcels on it moving, coloured by their decision; line state and reason, stack
 * light, counters, alarms with reasons, and the last decisions.
 */

interface ParcelRow {
  parcelId: string;
  inductedAt: string;
  code: string | null;
  verdict: string | null;
  lane: string | null;
  ruleId: string | null;
  reason: string | null;
  gateError: string | null;
}

const LANE_CLASS = (lane: string | null) => (lane ? `lane-${lane}` : 'lane-pending');

function Belt({ line }: { line: LineView }) {
  const t = useT('overview');
  const g = line.geometry;
  const W = g.endMm;
  const H = Math.round(W * 0.2);
  const beltY = H * 0.22;
  const beltH = H * 0.2;
  const branchLen = H * 0.45;
  return (
    <svg class="belt" viewBox={`-300 0 ${W + 300} ${H}`} role="img" aria-label={t('belt')}>
      <rect x={0} y={beltY} width={W} height={beltH} class="belt-body" />
      <text x={0} y={beltY - H * 0.05} class="label">
        {t('infeed')}
      </text>
      <line x1={0} x2={0} y1={beltY - H * 0.04} y2={beltY + beltH + H * 0.04} class="eye" />
      <line
        x1={g.scannerMm}
        x2={g.scannerMm}
        y1={beltY - H * 0.04}
        y2={beltY + beltH + H * 0.04}
        class="scanner"
      />
      <text x={g.scannerMm} y={beltY + beltH + H * 0.14} class="label" text-anchor="middle">
        {t('scanner')}
      </text>
      <rect
        x={g.ctMm - 400}
        y={beltY - H * 0.06}
        width={800}
        height={beltH + H * 0.12}
        class="ct"
        rx={60}
      />
      <text x={g.ctMm} y={beltY - H * 0.08} class="label" text-anchor="middle">
        CT
      </text>
      {g.lanes.map((l) =>
        l.gate ? (
          <g key={l.id}>
            <line
              x1={l.positionMm}
              y1={beltY + beltH}
              x2={l.positionMm + branchLen * 0.6}
              y2={beltY + beltH + branchLen}
              class={`branch ${LANE_CLASS(l.lane)}`}
            />
            <text
              x={l.positionMm + branchLen * 0.6}
              y={beltY + beltH + branchLen + H * 0.08}
              class="label"
              text-anchor="middle"
            >
              {t(`lane_${l.lane}`)}
            </text>
          </g>
        ) : (
          <text key={l.id} x={W} y={beltY - H * 0.05} class="label" text-anchor="end">
            {t(`lane_${l.lane}`)} →
          </text>
        ),
      )}
      {line.parcels.map((p) => (
        <g
          key={p.id}
          class="parcel-g"
          style={{ transform: `translateX(${Math.min(p.leadMm, W + 200)}px)` }}
        >
          <rect
            x={-p.lengthMm}
            y={beltY + beltH * 0.15}
            width={p.lengthMm}
            height={beltH * 0.7}
            rx={30}
            class={`parcel ${LANE_CLASS(p.lane)}${p.verdict === 'suspect' ? ' suspect' : ''}`}
            data-lane={p.lane ?? ''}
          >
            <title>
              {`${p.code ?? t('noRead')} · ${p.lane ?? t('pending')}${p.reason ? ` · ${p.reason}` : ''}`}
            </title>
          </rect>
        </g>
      ))}
    </svg>
  );
}

export default function Overview({ line }: PageProps) {
  const t = useT('overview');
  const [rows, setRows] = useState<ParcelRow[]>([]);
  useEffect(
    () =>
      sse('/api/parcels/stream', {
        snapshot: (d: { parcels: ParcelRow[] }) => setRows(d.parcels.slice(0, 30)),
        message: (d: { row: ParcelRow }) =>
          setRows((prev) =>
            [d.row, ...prev.filter((r) => r.parcelId !== d.row.parcelId)].slice(0, 30),
          ),
      }),
    [],
  );
  if (!line) return <p class="empty">{t('waiting')}</p>;
  const totals = line.totals;
  return (
    <div class="overview">
      <section class={`banner ${line.reason ? 'bad' : 'good'}`} data-testid="line-banner">
        <StackLight lamps={line.lamps} />
        <div>
          <strong>
            {t(`state_${line.state}`)} · {line.lineId}
          </strong>
          <div>{line.reason ?? t('allClear')}</div>
        </div>
        <div class="speed">
          {(line.speedMmPerS / 1000).toFixed(2)} m/s · {t('onBelt', { n: line.tracked })}
        </div>
      </section>
      <section class="card">
        <Belt line={line} />
        <div class="legend">
          <span class="lane-pass">■ {t('lane_pass')}</span>
          <span class="lane-inspection">■ {t('lane_inspection')}</span>
          <span class="lane-exception">■ {t('lane_exception')}</span>
          <span class="lane-pending">■ {t('pending')}</span>
        </div>
      </section>
      <section class="counters" data-testid="counters">
        {(['inducted', 'pass', 'inspection', 'exception', 'suspect', 'noRead'] as const).map(
          (k) => (
            <div key={k} data-counter={k}>
              <b>{totals[k] ?? 0}</b>
              {t(`count_${k}`)}
            </div>
          ),
        )}
        <div data-counter="uplink">
          <b>{line.uplink ?? '-'}</b>
          {t('uplink')}
        </div>
      </section>
      <div class="cols">
        <section class="card">
          <h2>{t('alarms')}</h2>
          {line.alarms.length === 0 ? (
            <p class="empty">{t('noAlarms')}</p>
          ) : (
            <ul class="alarms">
              {line.alarms.map((a, i) => (
                <li key={i}>
                  <time>{new Date(a.time).toLocaleTimeString()}</time> <b>{a.type}</b>
                  {a.reason ? ` · ${a.reason}` : ''}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section class="card">
          <h2>{t('decisions')}</h2>
          <div class="scroll">
            <table class="decisions">
              <thead>
                <tr>
                  <th>{t('time')}</th>
                  <th>{t('waybill')}</th>
                  <th>CT</th>
                  <th>{t('lane')}</th>
                  <th>{t('why')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.parcelId} class={r.lane ?? ''}>
                    <td>{new Date(r.inductedAt).toLocaleTimeString()}</td>
                    <td class="mono">{r.code ?? '…'}</td>
                    <td class={r.verdict === 'suspect' ? 'suspect' : ''}>{r.verdict ?? '…'}</td>
                    <td class={`lane ${LANE_CLASS(r.lane)}`}>
                      {r.lane ? t(`lane_${r.lane}`) : '…'}
                    </td>
                    <td>{r.reason ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>
    </div>
  );
}
