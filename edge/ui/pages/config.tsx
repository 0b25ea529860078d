import { useEffect, useRef, useState } from 'preact/hooks';
import { allows, api, ApiError } from '../api.js';
import type * as EditorModuleNs from '../components/yaml-editor.js';
import type { EditorHandle, EditorIssue, YamlEditorProps } from '../components/yaml-editor.js';

type EditorModule = typeof EditorModuleNs;
import { useT } from '../i18n.js';
import { diffLines, hunks } from '../lib/diff.js';
import type { ConfigSchemas } from '../lib/schema-complete.js';
import type { PageProps } from '../types.js';

/**
 * Configuration: the file in YAML (secrets shown as [redacted], kept on save), checked on the
 * gateway as you type (schema and cross-checks, every error with its path and line), a diff
 * against the running file, apply with its progress (the gateway restarts its pipeline and
 * rolls back by itself if the new one fails to start), and earlier versions to restore.
 */

interface ApplyState {
  ok?: boolean;
  applied?: boolean;
  rolledBack?: boolean;
  message?: string;
  at?: string;
  issues?: EditorIssue[];
  progress?: { phase: string; forMs: number } | null;
}

const PHASES = ['validating', 'writing', 'stopping', 'starting'];

function Diff({ before, after }: { before: string; after: string }) {
  const t = useT('config');
  const lines = hunks(diffLines(before, after));
  if (!lines.some((l) => l && l.op !== ' ')) return <p class="empty">{t('noChanges')}</p>;
  return (
    <pre class="diff" data-testid="diff">
      {lines.map((l, i) =>
        l === null ? (
          <div key={i}>…</div>
        ) : (
          <div key={i} class={l.op === '+' ? 'add' : l.op === '-' ? 'del' : ''}>
            {l.op} {l.text}
          </div>
        ),
      )}
    </pre>
  );
}

/** CodeMirror is loaded only when this page opens (its own chunk): the shell stays small. */
let editorModule: Promise<EditorModule> | null = null;
function LazyEditor(props: YamlEditorProps) {
  const [Editor, setEditor] = useState<((p: YamlEditorProps) => preact.JSX.Element) | null>(null);
  useEffect(() => {
    editorModule ??= import('../components/yaml-editor.js');
    void editorModule.then((m) => setEditor(() => m.YamlEditor));
  }, []);
  return Editor ? <Editor {...props} /> : <div class="editor">…</div>;
}

export default function ConfigPage({ session }: PageProps) {
  const t = useT('config');
  const [running, setRunning] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [schemas, setSchemas] = useState<ConfigSchemas | null>(null);
  const [issues, setIssues] = useState<EditorIssue[]>([]);
  const [checked, setChecked] = useState<'idle' | 'checking' | 'valid' | 'invalid'>('idle');
  const [showDiff, setShowDiff] = useState(false);
  const [apply, setApply] = useState<ApplyState | null>(null);
  const [applying, setApplying] = useState(false);
  const [versions, setVersions] = useState<{ id: string; at: string; bytes: number }[]>([]);
  const [viewing, setViewing] = useState<{ id: string; text: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const editor = useRef<EditorHandle | null>(null);
  const timer = useRef<number | undefined>(undefined);
  const isAdmin = allows(session.role, 'admin');

  const load = async () => {
    const [file, schema, history] = await Promise.all([
      api.get<string>('/api/config/file?format=yaml'),
      api.get<ConfigSchemas>('/api/config/schema').catch(() => null),
      api.get<{ versions: typeof versions }>('/api/config/history'),
    ]);
    setRunning(file);
    setText(file);
    setSchemas(schema);
    setVersions(history.versions);
    editor.current?.setText(file);
    setIssues([]);
    setChecked('idle');
  };
  useEffect(() => {
    load().catch((e: Error) => setError(e.message));
  }, []);

  const validate = async (body: string) => {
    setChecked('checking');
    try {
      const r = await api.post<{ valid: boolean; issues: EditorIssue[] }>(
        '/api/config/validate',
        body,
        { contentType: 'application/yaml' },
      );
      setIssues(r.issues);
      setChecked(r.valid ? 'valid' : 'invalid');
    } catch (err) {
      const body = err instanceof ApiError ? (err.body as { issues?: EditorIssue[] }) : null;
      setIssues(body?.issues ?? [{ path: '/', message: (err as Error).message }]);
      setChecked('invalid');
    }
  };

  const onChange = (next: string) => {
    setText(next);
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => void validate(next), 600);
  };

  /** Poll the outcome while the gateway restarts (its HTTP server goes away for a moment). */
  const follow = async (before: string | undefined) => {
    setApplying(true);
    for (let i = 0; i < 240; i++) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        const r = await api.get<ApplyState>('/api/config/last-apply', { background: true });
        setApply(r);
        if (r.at && r.at !== before && (!r.progress || r.progress.phase === 'idle')) {
          setApplying(false);
          await load();
          return;
        }
      } catch {
        setApply((a) => ({ ...a, progress: { phase: 'starting', forMs: 0 } }));
      }
    }
    setApplying(false);
  };

  const submit = async (send: () => Promise<unknown>) => {
    setError(null);
    const before = (await api.get<ApplyState>('/api/config/last-apply')).at;
    try {
      await send();
      setApply({ progress: { phase: 'validating', forMs: 0 } });
      await follow(before);
    } catch (err) {
      const body = err instanceof ApiError ? (err.body as { issues?: EditorIssue[] }) : null;
      if (body?.issues) {
        setIssues(body.issues);
        setChecked('invalid');
      }
      setError((err as Error).message);
    }
  };

  if (running === null) return <p class="empty">{error ?? t('loading')}</p>;
  const changed = text !== running;
  const phase = apply?.progress?.phase;
  return (
    <div class="config">
      <section class="card">
        <div class="row">
          <h2>{t('title')}</h2>
          <span class="spacer" />
          <span
            data-testid="check-state"
            class={`state ${checked === 'valid' ? 'running' : checked === 'invalid' ? 'failed' : ''}`}
          >
            {checked === 'valid'
              ? t('valid')
              : checked === 'invalid'
                ? t('errors', { n: issues.length })
                : checked === 'checking'
                  ? t('checking')
                  : ''}
          </span>
        </div>
        <p class="hint">{t('hint')}</p>
        <LazyEditor
          initial={running}
          schemas={schemas}
          issues={issues}
          onChange={onChange}
          handle={(h) => (editor.current = h)}
        />
        {issues.length > 0 ? (
          <ul class="issues" data-testid="issues">
            {issues.map((i, k) => (
              <li key={k} onClick={() => i.line && editor.current?.jumpTo(i.line)}>
                <code>{i.path}</code>
                {i.line ? ` (${t('line')} ${i.line})` : ''}: {i.message}
              </li>
            ))}
          </ul>
        ) : null}
        <div class="row">
          <button class="ghost" onClick={() => void validate(text)}>
            {t('check')}
          </button>
          <button class="ghost" disabled={!changed} onClick={() => setShowDiff(!showDiff)}>
            {showDiff ? t('hideDiff') : t('showDiff')}
          </button>
          <button
            class="ghost"
            disabled={!changed}
            onClick={() => {
              editor.current?.setText(running);
              setText(running);
              setIssues([]);
            }}
          >
            {t('discard')}
          </button>
          <button
            data-testid="apply"
            disabled={!changed || checked === 'invalid' || applying || !isAdmin}
            title={isAdmin ? '' : t('needsAdmin')}
            onClick={() =>
              void submit(() => api.put('/api/config', text, { contentType: 'application/yaml' }))
            }
          >
            {t('apply')}
          </button>
          {!isAdmin ? <span class="refused">{t('needsAdmin')}</span> : null}
        </div>
        {showDiff && changed ? <Diff before={running} after={text} /> : null}
        {error ? <p class="error">{error}</p> : null}
      </section>
      {apply ? (
        <section class="card" data-testid="apply-result">
          <h2>{t('applyTitle')}</h2>
          <div class="progress">
            {PHASES.map((p) => {
              const at = phase ? PHASES.indexOf(phase) : PHASES.length;
              const i = PHASES.indexOf(p);
              return (
                <span key={p} class={phase === p ? 'now' : i < at || !applying ? 'done' : ''}>
                  {t(`phase_${p}`)}
                </span>
              );
            })}
            {phase === 'rolling-back' ? <span class="bad">{t('phase_rolling-back')}</span> : null}
          </div>
          {!applying && apply.message ? (
            <p class={apply.ok ? '' : 'error'} data-testid="apply-message">
              {apply.ok ? t('applied') : apply.rolledBack ? t('rolledBack') : t('rejected')} ·{' '}
              {apply.message}
            </p>
          ) : null}
        </section>
      ) : null}
      <section class="card">
        <h2>{t('history')}</h2>
        {versions.length === 0 ? (
          <p class="empty">{t('noHistory')}</p>
        ) : (
          <table data-testid="history">
            <tbody>
              {versions.map((v) => (
                <tr key={v.id}>
                  <td>{new Date(v.at).toLocaleString()}</td>
                  <td>{v.bytes} B</td>
                  <td class="row">
                    <button
                      class="ghost"
                      onClick={() =>
                        void api
                          .get<string>(`/api/config/history/${encodeURIComponent(v.id)}`)
                          .then((text) => setViewing({ id: v.id, text }))
                      }
                    >
                      {t('compare')}
                    </button>
                    <button
                      data-testid="restore"
                      disabled={!isAdmin || applying}
                      onClick={() =>
                        void submit(() =>
                          api.post(`/api/config/history/${encodeURIComponent(v.id)}/restore`),
                        )
                      }
                    >
                      {t('restore')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {viewing ? (
          <>
            <p>
              {t('versionVsRunning', {
                at: new Date(versions.find((v) => v.id === viewing.id)?.at ?? '').toLocaleString(),
              })}
            </p>
            <Diff before={viewing.text} after={running} />
          </>
        ) : null}
      </section>
    </div>
  );
}
