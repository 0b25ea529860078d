import { render } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import {
  allows,
  api,
  ApiError,
  onSessionExpired,
  setCsrfToken,
  sse,
  type SessionInfo,
} from './api.js';
import { I18n, initialLang, translator, type Lang } from './i18n.js';
import { PAGES } from './pages/index.js';
import { Header } from './components/header.js';
import { Login } from './components/login.js';
import type { LineView } from './types.js';
import './style.css';

/**
 * The shell: login, the header with the line state first, navigation by role, hash routing
 * (#/overview, #/devices/opcua-1), language, idle timeout. One line stream feeds every page.
 */

function currentPath(): string {
  return location.hash.replace(/^#/, '') || '/';
}

function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const t = useMemo(() => translator(lang), [lang]);
  const setLang = useCallback((l: Lang) => {
    localStorage.setItem('edge.lang', l);
    document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
    setLangState(l);
  }, []);
  const [session, setSession] = useState<SessionInfo | null | 'loading'>('loading');
  const [notice, setNotice] = useState<string | null>(null);
  const [path, setPath] = useState(currentPath);
  const [line, setLine] = useState<LineView | null>(null);
  const [online, setOnline] = useState(true);

  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    const onHash = () => setPath(currentPath());
    addEventListener('hashchange', onHash);
    api
      .get<SessionInfo>('/api/session', { background: true })
      .then(started, () => setSession(null));
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const started = (s: SessionInfo) => {
    setCsrfToken(s.csrfToken);
    setSession(s);
  };
  const ended = useCallback((message: string | null) => {
    setCsrfToken(null);
    setSession(null);
    setLine(null);
    setNotice(message);
  }, []);

  useEffect(() => onSessionExpired(() => ended(t('shell.sessionEnded'))), [t]);

  // one live line stream for the header and every page
  useEffect(() => {
    if (!session || session === 'loading') return undefined;
    return sse('/api/line/stream', { line: (v: LineView) => setLine(v) }, setOnline);
  }, [session]);

  // idle timeout: no pointer or key input for idleTimeoutS -> log out here and on the server
  useEffect(() => {
    if (!session || session === 'loading') return undefined;
    let last = Date.now();
    const touch = () => (last = Date.now());
    const events = ['pointerdown', 'keydown', 'wheel', 'touchstart'];
    for (const e of events) addEventListener(e, touch, { passive: true });
    const timer = setInterval(() => {
      if (Date.now() - last < session.idleTimeoutS * 1000) return;
      void api.del('/api/session').catch(() => undefined);
      ended(t('shell.loggedOutIdle', { min: Math.round(session.idleTimeoutS / 60) }));
    }, 5000);
    return () => {
      clearInterval(timer);
      for (const e of events) removeEventListener(e, touch);
    };
  }, [session, t]);

  const navigate = useCallback((p: string) => {
    location.hash = p;
  }, []);

  const i18n = { lang, t, setLang };
  if (session === 'loading') return <div class="boot">{t('shell.loading')}</div>;
  if (!session) {
    return (
      <I18n.Provider value={i18n}>
        <Login
          notice={notice}
          onLogin={async (name, password) => {
            try {
              started(await api.post<SessionInfo>('/api/session', { name, password }));
              setNotice(null);
              return null;
            } catch (err) {
              return err instanceof ApiError && err.status === 401
                ? t('shell.loginFailed')
                : (err as Error).message;
            }
          }}
        />
      </I18n.Provider>
    );
  }
  const visible = PAGES.filter((p) => allows(session.role, p.minRole));
  const page = PAGES.find((p) => path === p.path || path.startsWith(`${p.path}/`));
  const start = visible[0];
  if (!page && start && (path === '/' || path === '')) {
    navigate(start.path);
  }
  const Page = page?.component;
  const sub = page
    ? path.slice(page.path.length).split('/').filter(Boolean).map(decodeURIComponent)
    : [];
  return (
    <I18n.Provider value={i18n}>
      <Header
        session={session}
        line={line}
        online={online}
        pages={visible}
        current={page?.path ?? ''}
        onLogout={() => {
          void api
            .del('/api/session')
            .catch(() => undefined)
            .then(() => ended(null));
        }}
      />
      <main>
        {!page || !Page ? (
          <p class="empty">{t('shell.notFound')}</p>
        ) : !allows(session.role, page.minRole) ? (
          <p class="refused">{t('shell.needsRole', { role: t(`shell.role_${page.minRole}`) })}</p>
        ) : (
          <Page session={session} sub={sub} line={line} navigate={navigate} />
        )}
      </main>
    </I18n.Provider>
  );
}

const root = document.getElementById('app')!;
root.textContent = '';
render(<App />, root);
