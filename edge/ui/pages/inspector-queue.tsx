import { memo } from 'preact/compat';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, sse } from '../api.js';
import { useT } from '../i18n.js';
import { AlertSound } from '../inspector/alert-sound.js';
import { errorText, ImageLink, ReasonChips } from '../inspector/common.js';
import '../inspector/inspector.css';
import {
  ACTIONS,
  duration,
  localTime,
  shortId,
  type DecideAnswer,
  type DecisionAction,
  type FlagView,
  type InspectorSettings,
  type QueueSnapshot,
} from '../inspector/types.js';
import type { PageProps } from '../types.js';

/**
 * The inspection queue: every parcel an officer must act on, live (server-sent events from
 * /api/inspector/stream): CT suspect and unknown, targeting-list hits, late or missing verdicts,
 * parcels that escaped a late suspect verdict, device-lost parcels. A new alert plays a sound and
 * flashes until acknowledged. Opening an entry claims it (other officers see who has it);
 * the panel records release / inspect / seize / re-scan with a note.
 */

/** One timer for every waiting-time cell: each cell re-renders alone, once a second. */
const tickers = new Set<() => void>();
let tickTimer: ReturnType<typeof setInterval> | null = null;
function useSecondTick(): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const tick = () => setNow(Date.now());
    tickers.add(tick);
    tickTimer ??= setInterval(() => tickers.forEach((fn) => fn()), 1000);
    return () => {
      tickers.delete(tick);
      if (tickers.size === 0 && tickTimer) {
        clearInterval(tickTimer);
        tickTimer = null;
      }
    };
  }, []);
  return now;
}

function Waiting({ f, skew }: { f: FlagView; skew: number }) {
  const now = useSecondTick();
  return <>{duration(f.status === 'open' ? now + skew - f.flaggedAtMs : f.waitingMs)}</>;
}

interface RowProps {
  f: FlagView;
  me: string;
  selected: boolean;
  skew: number;
  onOpen: (parcelId: string) => void;
}

/**
 * A queue row; re-rendered only when its entry changed (each SSE update brings a new object),
 * so a new suspect costs one row, not the whole table.
 */
const Row = memo(
  function Row({ f, me, selected, skew, onOpen }: RowProps) {
    return <RowCells f={f} me={me} selected={selected} skew={skew} onOpen={onOpen} />;
  },
  (a: RowProps, b: RowProps) =>
    a.f === b.f && a.me === b.me && a.selected === b.selected && a.skew === b.skew,
);

function RowCells({ f, me, selected, skew, onOpen }: RowProps) {
  const t = useT('inspector');
  const taken = f.openedBy && f.openedBy.officer !== me;
  const cls = [
    f.alert && !f.ackedBy && f.status === 'open' ? 'alerting' : '',
    selected ? 'selected' : '',
    taken ? 'taken' : '',
  ].join(' ');
  return (
    <tr class={cls} data-parcel={f.parcelId} onClick={() => onOpen(f.parcelId)}>
      <td class="mono" data-col="waiting">
        <Waiting f={f} skew={skew} />
      </td>
      <td class="mono">{f.waybill ?? t('noRead')}</td>
      <td class="mono" title={f.parcelId}>
        {shortId(f.parcelId)}
      </td>
      <td>{f.lane ? t(`lane_${f.lane}`) : ''}</td>
      <td>
        <ReasonChips reasons={f.reasons} />
        {f.ruleId ? <div class="insp-hint">{f.ruleId}</div> : null}
      </td>
      <td class={f.verdict === 'suspect' ? 'insp-verdict-suspect' : ''}>
        {f.verdict ? t(`verdict_${f.verdict}`) : '–'}
        {f.verdictLate ? <div class="insp-hint">{t('verdictLate')}</div> : null}
      </td>
      <td>{f.confidence !== null ? `${Math.round(f.confidence * 100)} %` : '–'}</td>
      <td onClick={(e) => e.stopPropagation()}>
        <ImageLink flag={f} />
      </td>
      <td>
        {f.targeting ? (
          <>
            <span class="mono">{f.targeting.entryId}</span>
            {f.targeting.note ? <div class="insp-hint">{f.targeting.note}</div> : null}
          </>
        ) : (
          ''
        )}
      </td>
      <td data-col="opened-by" class={taken ? 'insp-taken' : ''}>
        {f.status === 'decided' && f.decision
          ? `${t(`action_${f.decision.action}`)} · ${f.decision.officer}`
          : (f.openedBy?.officer ?? '')}
      </td>
    </tr>
  );
}

const MAX_ROWS = 300;

type ClaimState =
  { kind: 'claiming' } | { kind: 'mine' } | { kind: 'taken'; by: string } | { kind: 'none' };

function Panel({
  flag,
  settings,
  onClose,
  navigate,
}: {
  flag: FlagView;
  settings: InspectorSettings;
  onClose: () => void;
  navigate: (p: string) => void;
}) {
  const t = useT('inspector');
  const [claim, setClaim] = useState<ClaimState>({ kind: 'none' });
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const pid = flag.parcelId;
  const path = `/api/inspector/parcels/${encodeURIComponent(pid)}`;
  const holdsIt = useRef(false);

  const doClaim = async (takeOver: boolean) => {
    if (!settings.canDecide || flag.status !== 'open') return;
    setClaim({ kind: 'claiming' });
    try {
      await api.post(`${path}/claim`, takeOver ? { takeOver: true } : {});
      holdsIt.current = true;
      setClaim({ kind: 'mine' });
    } catch (err) {
      const by = (err as ApiError).body as { details?: { openedBy?: string } } | undefined;
      if (err instanceof ApiError && err.code === 'EDGE_INSPECTOR_CLAIMED')
        setClaim({ kind: 'taken', by: by?.details?.openedBy ?? '?' });
      else {
        setClaim({ kind: 'none' });
        setMsg({ ok: false, text: errorText(t, err) });
      }
    }
  };

  // open = claim; renew while open; release when closed without a decision
  useEffect(() => {
    setMsg(null);
    setNote('');
    holdsIt.current = false;
    void doClaim(false);
    const renew = setInterval(
      () => {
        if (holdsIt.current)
          void api.post(`${path}/claim`, {}, { background: true }).catch(() => {
            holdsIt.current = false;
          });
      },
      Math.max(5, settings.claimTtlS / 3) * 1000,
    );
    return () => {
      clearInterval(renew);
      if (holdsIt.current) void api.del(`${path}/claim`).catch(() => undefined);
    };
  }, [pid]);

  // someone else took it over while it was open here
  useEffect(() => {
    if (claim.kind === 'mine' && flag.openedBy && flag.openedBy.officer !== settings.officer) {
      holdsIt.current = false;
      setClaim({ kind: 'taken', by: flag.openedBy.officer });
    }
  }, [flag.openedBy?.officer]);

  const decide = async (action: DecisionAction) => {
    setBusy(true);
    setMsg(null);
    try {
      const r = await api.post<DecideAnswer>(`${path}/decision`, {
        action,
        note,
        ...(claim.kind === 'taken' ? { takeOver: true } : {}),
        ...(flag.status === 'decided' ? { revise: true } : {}),
      });
      holdsIt.current = false;
      const engine = r.engine.applied
        ? t('engineApplied')
        : t('engineNotApplied', { reason: r.engine.reason });
      setMsg({
        ok: true,
        text: `${t('decisionSaved', { action: t(`action_${action}`) })} · ${engine}`,
      });
    } catch (err) {
      setMsg({ ok: false, text: errorText(t, err) });
    } finally {
      setBusy(false);
    }
  };

  const canAct = settings.canDecide && claim.kind !== 'claiming';
  return (
    <aside class="insp-panel" data-testid="parcel-panel" data-parcel={pid}>
      <div class="insp-toolbar">
        <h2 class="mono">{flag.waybill ?? t('noRead')}</h2>
        <span class="spacer" />
        <button class="ghost" onClick={() => navigate(`/parcel/${encodeURIComponent(pid)}`)}>
          {t('history')}
        </button>
        <button class="ghost" onClick={onClose}>
          {t('close')}
        </button>
      </div>
      {claim.kind === 'mine' ? (
        <div class="insp-hint" data-testid="claim-mine">
          {t('youHaveIt')}
        </div>
      ) : null}
      {claim.kind === 'claiming' ? <div class="insp-hint">{t('claiming')}</div> : null}
      {claim.kind === 'taken' ? (
        <div class="insp-msg err" data-testid="claim-taken">
          {t('takenBy', { who: claim.by })}{' '}
          <button class="ghost" onClick={() => void doClaim(true)}>
            {t('takeOver')}
          </button>
        </div>
      ) : null}
      <dl>
        <dt>{t('col_parcel')}</dt>
        <dd class="mono">{pid}</dd>
        <dt>{t('col_reason')}</dt>
        <dd>
          <ReasonChips reasons={flag.reasons} />
        </dd>
        <dt>{t('engineReason')}</dt>
        <dd>
          {flag.lane ? t(`lane_${flag.lane}`) : ''} {flag.ruleReason ? `· ${flag.ruleReason}` : ''}
        </dd>
        <dt>{t('col_verdict')}</dt>
        <dd class={flag.verdict === 'suspect' ? 'insp-verdict-suspect' : ''}>
          {flag.verdict ? t(`verdict_${flag.verdict}`) : '–'}
          {flag.confidence !== null ? ` · ${Math.round(flag.confidence * 100)} %` : ''}
          {flag.verdictLate ? ` · ${t('verdictLate')}` : ''}
          {flag.scanId ? <span class="insp-hint mono"> · {flag.scanId}</span> : null}
        </dd>
        <dt>{t('col_image')}</dt>
        <dd>
          <ImageLink flag={flag} />
        </dd>
        {flag.targeting ? (
          <>
            <dt>{t('col_targeting')}</dt>
            <dd>
              <span class="mono">
                {flag.targeting.entryId} ({flag.targeting.match} {flag.targeting.pattern},{' '}
                {flag.targeting.listVersion})
              </span>
              {flag.targeting.note ? <div>{flag.targeting.note}</div> : null}
            </dd>
          </>
        ) : null}
        {flag.remoteVerdict ? (
          <>
            <dt>{t('stage_officer')}</dt>
            <dd>
              {t('remoteVerdict', {
                who: flag.remoteVerdict.officerId,
                verdict: t(`verdict_${flag.remoteVerdict.verdict}`),
              })}
            </dd>
          </>
        ) : null}
        {flag.gate ? (
          <>
            <dt>{t('gate')}</dt>
            <dd>
              {flag.gate.gateId ?? ''}{' '}
              {flag.gate.failed
                ? t('gateFailed', { error: flag.gate.failed })
                : flag.gate.fired
                  ? t('gateFired')
                  : ''}
              {flag.gate.confirmed === true ? ` · ${t('gateConfirmed')}` : ''}
              {flag.gate.confirmed === false ? ` · ${t('gateUnconfirmed')}` : ''}
            </dd>
          </>
        ) : null}
        <dt>{t('inductedAt')}</dt>
        <dd>{localTime(flag.inductedAt)}</dd>
        <dt>{t('flaggedAt')}</dt>
        <dd>{localTime(flag.flaggedAt)}</dd>
        {flag.decision ? (
          <>
            <dt>{t('col_decision')}</dt>
            <dd data-testid="panel-decision">
              {t('decidedBy', {
                action: t(`action_${flag.decision.action}`),
                who: flag.decision.officer,
                time: localTime(flag.decision.at),
              })}
              {flag.decision.note ? <div>{flag.decision.note}</div> : null}
            </dd>
          </>
        ) : null}
      </dl>
      {settings.canDecide ? (
        <>
          <label>
            {t('note')}
            <textarea
              value={note}
              maxLength={2000}
              placeholder={t('notePlaceholder')}
              onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)}
            />
          </label>
          {flag.status === 'decided' ? <div class="insp-hint">{t('revise')}</div> : null}
          <div class="insp-actions">
            {ACTIONS.map((a) => (
              <button
                key={a}
                class={a}
                disabled={!canAct || busy}
                title={t(`actionHelp_${a}`)}
                data-action={a}
                onClick={() => void decide(a)}
              >
                {t(`action_${a}`)}
              </button>
            ))}
          </div>
        </>
      ) : (
        <p class="insp-hint">{t('readOnly')}</p>
      )}
      {msg ? (
        <div class={`insp-msg${msg.ok ? '' : ' err'}`} data-testid="panel-message">
          {msg.text}
        </div>
      ) : null}
    </aside>
  );
}

function InspectorQueue({ navigate, sub }: PageProps) {
  const t = useT('inspector');
  const [settings, setSettings] = useState<InspectorSettings | null>(null);
  const [open, setOpen] = useState<Map<string, FlagView>>(new Map());
  const [decided, setDecided] = useState<FlagView[]>([]);
  const [online, setOnline] = useState(false);
  const [tab, setTab] = useState<'open' | 'decided'>('open');
  const [skew, setSkew] = useState(0);
  // open entries older than the snapshot lists (a backlog of more than 1000)
  const [unlisted, setUnlisted] = useState(0);
  const [query, setQuery] = useState('');
  const [, redraw] = useState(0);
  const sound = useMemo(() => new AlertSound(() => redraw((n) => n + 1)), []);
  const selected = sub[0] ?? null;

  useEffect(() => {
    void api.get<InspectorSettings>('/api/inspector/settings').then(setSettings);
    const close = sse(
      '/api/inspector/stream',
      {
        snapshot: (d: QueueSnapshot) => {
          setSkew(Date.parse(d.now) - Date.now());
          setOpen(new Map(d.open.map((f) => [f.parcelId, f])));
          setUnlisted(Math.max(0, d.openTotal - d.open.length));
          setDecided(d.decided);
        },
        flag: (f: FlagView) => {
          setOpen((prev) => {
            const next = new Map(prev);
            if (f.status === 'open') next.set(f.parcelId, f);
            else next.delete(f.parcelId);
            return next;
          });
          if (f.status === 'decided')
            setDecided((prev) =>
              [f, ...prev.filter((x) => x.parcelId !== f.parcelId)].slice(0, 100),
            );
        },
        alert: () => sound.play(),
      },
      setOnline,
    );
    return close;
  }, []);

  const openList = [...open.values()].sort((a, b) => b.flaggedAtMs - a.flaggedAtMs);
  const alerts = openList.filter((f) => f.alert && !f.ackedBy);
  useEffect(() => {
    const base = t('queueTitle');
    document.title = alerts.length > 0 ? `(${alerts.length}) ${base}` : base;
  }, [alerts.length]);

  const ack = (ids: string[]) => {
    for (const id of ids)
      void api
        .post(`/api/inspector/parcels/${encodeURIComponent(id)}/ack`, {})
        .catch(() => undefined);
  };
  const selectedFlag =
    (selected && (open.get(selected) ?? decided.find((f) => f.parcelId === selected))) || null;
  const me = settings?.officer ?? '';
  const openRow = useCallback(
    (id: string) => navigate(`/inspector/${encodeURIComponent(id)}`),
    [navigate],
  );
  const all = tab === 'open' ? openList : decided;
  // a long backlog is listed up to MAX_ROWS (newest first); the count says how many wait
  const rows = all.slice(0, MAX_ROWS);

  return (
    <div class="insp-queue">
      <div class="insp-toolbar">
        <h1>{t('queueTitle')}</h1>
        <span class={`insp-live${online ? '' : ' off'}`} data-testid="live">
          {online ? t('live') : t('offline')}
        </span>
        <span class="spacer" />
        <form
          class="insp-toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            if (query.trim()) navigate(`/parcel/find/${encodeURIComponent(query.trim())}`);
          }}
        >
          <input
            value={query}
            placeholder={t('searchPlaceholder')}
            onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
          />
          <button type="submit">{t('search')}</button>
        </form>
        <button class="ghost" onClick={() => sound.setEnabled(!sound.enabled)} data-testid="sound">
          {sound.enabled ? t('soundOn') : t('soundOff')}
        </button>
      </div>
      {/* always laid out: a hint that appears or goes must not move what the officer clicks */}
      <p class={`insp-hint${sound.blocked ? '' : ' insp-invisible'}`}>{t('soundBlocked')}</p>
      {alerts.length > 0 ? (
        <div class="insp-alert" role="alert" data-testid="alert-banner">
          <span>{t('alertsWaiting', { n: alerts.length })}</span>
          {alerts.slice(0, 3).map((f) => (
            <span key={f.parcelId} class="mono">
              {f.waybill ?? shortId(f.parcelId)} ·{' '}
              {f.reasons.map((r) => t(`reason_${r}`)).join(', ')}
            </span>
          ))}
          <span class="spacer" />
          {settings?.canDecide ? (
            <button onClick={() => ack(alerts.map((f) => f.parcelId))} data-testid="ack-all">
              {alerts.length > 1 ? t('acknowledgeAll') : t('acknowledge')}
            </button>
          ) : null}
        </div>
      ) : null}
      <div class="insp-tabs">
        <button class={tab === 'open' ? '' : 'ghost'} onClick={() => setTab('open')}>
          {t('openTab', { n: openList.length + unlisted })}
        </button>
        <button class={tab === 'decided' ? '' : 'ghost'} onClick={() => setTab('decided')}>
          {t('decidedTab')}
        </button>
      </div>
      <div class={`insp-layout${selectedFlag ? ' with-panel' : ''}`}>
        <div class="scroll">
          {rows.length === 0 ? (
            <p class="empty">{tab === 'open' ? t('nothingOpen') : t('nothingDecided')}</p>
          ) : (
            <table class="insp-table" data-testid={`queue-${tab}`}>
              <thead>
                <tr>
                  <th>{t('col_waiting')}</th>
                  <th>{t('col_waybill')}</th>
                  <th>{t('col_parcel')}</th>
                  <th>{t('col_lane')}</th>
                  <th>{t('col_reason')}</th>
                  <th>{t('col_verdict')}</th>
                  <th>{t('col_confidence')}</th>
                  <th>{t('col_image')}</th>
                  <th>{t('col_targeting')}</th>
                  <th>{tab === 'open' ? t('col_openedBy') : t('col_decision')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((f) => (
                  <Row
                    key={f.parcelId}
                    f={f}
                    me={me}
                    skew={skew}
                    selected={f.parcelId === selected}
                    onOpen={openRow}
                  />
                ))}
              </tbody>
            </table>
          )}
          {all.length > rows.length || (tab === 'open' && unlisted > 0) ? (
            <p class="insp-hint">
              {t('moreRows', { n: all.length - rows.length + (tab === 'open' ? unlisted : 0) })}
            </p>
          ) : null}
        </div>
        {selectedFlag && settings ? (
          <Panel
            flag={selectedFlag}
            settings={settings}
            navigate={navigate}
            onClose={() => navigate('/inspector')}
          />
        ) : null}
      </div>
    </div>
  );
}

/**
 * The shell re-renders the page with every line picture (4 per second); the queue does not use
 * it, so it re-renders only when the route or the session changes (or its own state does).
 */
export default memo(
  InspectorQueue,
  (a: PageProps, b: PageProps) =>
    a.session === b.session && a.navigate === b.navigate && a.sub.join('/') === b.sub.join('/'),
);
