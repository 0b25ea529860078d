import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useT, type Translate } from '../i18n.js';
import { errorText, ImageLink, ReasonChips } from '../inspector/common.js';
import '../inspector/inspector.css';
import { localTime, type Decision, type FlagView } from '../inspector/types.js';
import type { PageProps } from '../types.js';

/**
 * A parcel's whole story (#/parcel/<parcel id>), from the events the gateway stored: induction,
 * reads, CT verdicts, targeting, the line's decision, gate fire and divert confirmation, alarms,
 * officer verdicts and decisions. #/parcel/find/<waybill or id> searches; #/parcel shows the
 * search form.
 */

interface StoryEvent {
  seq: number;
  time: string;
  type: string;
  stage: string;
  payload: Record<string, unknown>;
}

interface Story {
  parcelId: string;
  waybill: string | null;
  inductedAt: string | null;
  flag: FlagView | null;
  decisions: Decision[];
  events: StoryEvent[];
  missing: number;
}

interface Hit {
  parcelId: string;
  waybill: string | null;
  inductedAt: string | null;
  flagged: boolean;
  status: 'open' | 'decided' | null;
  decision: string | null;
}

const text = (v: unknown): string =>
  v === null || v === undefined
    ? ''
    : typeof v === 'string'
      ? v
      : typeof v === 'number' || typeof v === 'boolean'
        ? String(v)
        : JSON.stringify(v);

/** One line saying what an event means; the raw payload is under "details". */
function summary(t: Translate, e: StoryEvent): string {
  const p = e.payload;
  switch (e.type) {
    case 'parcel.inducted':
      return p.lengthMm ? `${text(p.lengthMm)} mm` : '';
    case 'parcel.identified':
      return text(p.code);
    case 'parcel.noread':
      return p.code === null ? t('noRead') : `${t('noRead')}: ${text(p.code)}`;
    case 'parcel.weighed':
      return `${text(p.kg ?? p.weightKg)} kg`;
    case 'ct.verdict':
    case 'ct.verdict_revised':
      return [
        t(`verdict_${text(p.verdict)}`),
        p.confidence !== undefined && p.confidence !== null
          ? `${Math.round(Number(p.confidence) * 100)} %`
          : '',
        text(p.scanId),
        p.afterDecision ? t('verdictLate') : '',
      ]
        .filter(Boolean)
        .join(' · ');
    case 'targeting.hit':
      return `${text(p.entryId)} (${text(p.match)} ${text(p.pattern)}) ${text(p.reason)}`;
    case 'parcel.decided':
      return `${t(`lane_${text(p.lane)}`)} · ${text(p.ruleId)} · ${text(p.reason)}`;
    case 'gate.fired':
      return `${text(p.gateId)} ${t('gateFired')}${p.latenessMs !== undefined ? ` (+${Number(p.latenessMs).toFixed(1)} ms)` : ''}`;
    case 'gate.failed':
      return `${text(p.gateId)} ${t('gateFailed', { error: text(p.error) })}`;
    case 'divert.confirmed':
      return t('gateConfirmed');
    case 'ct.officer_verdict':
      return `${text(p.officerId)}: ${t(`verdict_${text(p.verdict)}`)} · ${text(p.reason)}`;
    case 'inspector.decision':
      return `${t(`action_${text(p.action)}`)} · ${text(p.officer)}${p.note ? ` · ${text(p.note)}` : ''}`;
    case 'inspector.alert_acknowledged':
      return t('acknowledgedBy', { who: text(p.officer) });
    case 'audit':
      return `${text(p.action)} · ${text(p.actor)}`;
    default:
      return text(p.reason ?? '');
  }
}

function Search({ initial, navigate }: { initial: string; navigate: (p: string) => void }) {
  const t = useT('inspector');
  const [q, setQ] = useState(initial);
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setQ(initial);
    setHits(null);
    if (!initial) return;
    api
      .get<{ hits: Hit[] }>(`/api/inspector/search?q=${encodeURIComponent(initial)}`)
      .then((r) => {
        setHits(r.hits);
        const only = r.hits[0];
        if (r.hits.length === 1 && only) navigate(`/parcel/${encodeURIComponent(only.parcelId)}`);
      })
      .catch((err: unknown) => setError(errorText(t, err)));
  }, [initial]);
  return (
    <section>
      <form
        class="insp-toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (q.trim()) navigate(`/parcel/find/${encodeURIComponent(q.trim())}`);
        }}
      >
        <input
          value={q}
          placeholder={t('searchPlaceholder')}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
          data-testid="story-search"
        />
        <button type="submit">{t('search')}</button>
      </form>
      {error ? <p class="error">{error}</p> : null}
      {!initial ? <p class="insp-hint">{t('storySearchHint')}</p> : null}
      {hits && hits.length === 0 ? <p class="empty">{t('noHits', { q: initial })}</p> : null}
      {hits && hits.length > 0 ? (
        <table class="insp-table">
          <thead>
            <tr>
              <th>{t('col_waybill')}</th>
              <th>{t('col_parcel')}</th>
              <th>{t('inductedAt')}</th>
              <th>{t('col_decision')}</th>
            </tr>
          </thead>
          <tbody>
            {hits.map((h) => (
              <tr
                key={h.parcelId}
                onClick={() => navigate(`/parcel/${encodeURIComponent(h.parcelId)}`)}
              >
                <td class="mono">{h.waybill ?? t('noRead')}</td>
                <td class="mono">{h.parcelId}</td>
                <td>{localTime(h.inductedAt)}</td>
                <td>
                  {h.decision ? t(`action_${h.decision}`) : h.status ? t(`status_${h.status}`) : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

export default function ParcelStory({ sub, navigate }: PageProps) {
  const t = useT('inspector');
  const [story, setStory] = useState<Story | null>(null);
  const [error, setError] = useState<string | null>(null);
  const parcelId = sub[0] && sub[0] !== 'find' ? sub[0] : null;
  const query = sub[0] === 'find' ? (sub[1] ?? '') : '';

  useEffect(() => {
    setStory(null);
    setError(null);
    if (!parcelId) return;
    api
      .get<Story>(`/api/inspector/parcels/${encodeURIComponent(parcelId)}`)
      .then(setStory)
      .catch((err: unknown) => setError(errorText(t, err)));
  }, [parcelId]);

  return (
    <div class="insp-story insp-print">
      <div class="insp-toolbar">
        <h1>{t('storyTitle')}</h1>
        <span class="spacer" />
        {story ? (
          <button class="ghost no-print" onClick={() => print()}>
            {t('print')}
          </button>
        ) : null}
      </div>
      <div class="no-print">
        <Search initial={query} navigate={navigate} />
      </div>
      {error ? <p class="error">{error}</p> : null}
      {parcelId && !story && !error ? <p class="empty">{t('loading')}</p> : null}
      {story ? (
        <>
          <section class="insp-cards">
            <div class="insp-card" data-testid="story-head">
              <h2 class="mono">{story.waybill ?? t('noRead')}</h2>
              <div class="mono insp-hint">{story.parcelId}</div>
              <div>
                {t('inductedAt')}: {localTime(story.inductedAt)}
              </div>
              {story.flag ? (
                <div>
                  <ReasonChips reasons={story.flag.reasons} /> {t(`status_${story.flag.status}`)}
                  <div>
                    <ImageLink flag={story.flag} />
                  </div>
                </div>
              ) : null}
            </div>
            <div class="insp-card" data-testid="story-decisions">
              <h2>{t('decisions')}</h2>
              {story.decisions.length === 0 ? <p class="insp-hint">{t('noDecisions')}</p> : null}
              {story.decisions.map((d) => (
                <div key={d.id}>
                  <b>{t(`action_${d.action}`)}</b> · {d.officer} · {localTime(d.at)}
                  {d.tookOverFrom ? ` (${t('takeOver')}: ${d.tookOverFrom})` : ''}
                  {d.note ? <div>{d.note}</div> : null}
                  {d.engine ? (
                    <div class="insp-hint">{t('engineOutcome', { reason: d.engine.reason })}</div>
                  ) : null}
                </div>
              ))}
            </div>
          </section>
          {story.missing > 0 ? (
            <p class="notice">{t('storyMissing', { n: story.missing })}</p>
          ) : null}
          <section class="insp-card">
            <h2>{t('events')}</h2>
            <ol class="insp-timeline" data-testid="story-events">
              {story.events.map((e) => (
                <li key={e.seq} class={`s-${e.stage}`} data-type={e.type}>
                  <time>{new Date(e.time).toLocaleTimeString()}</time>
                  <span class="stage">{t(`stage_${e.stage}`)}</span>
                  <span>
                    <span class="mono insp-hint">{e.type}</span> {summary(t, e)}
                  </span>
                  <details class="no-print">
                    <summary>{t('details')}</summary>
                    <pre>{JSON.stringify(e.payload, null, 2)}</pre>
                  </details>
                </li>
              ))}
            </ol>
          </section>
        </>
      ) : null}
    </div>
  );
}
