import { useState } from 'preact/hooks';
import type { SessionInfo } from '../api.js';
import { useT } from '../i18n.js';
import { I18n } from '../i18n.js';
import { useContext } from 'preact/hooks';
import type { PageDef } from '../pages/index.js';
import type { LineView } from '../types.js';

/** The line state and its reason come first, then the stack light, then the user. */
export function lineBadge(line: LineView | null): { cls: string; key: string } {
  if (!line) return { cls: 'state-unknown', key: 'shell.lineStarting' };
  if (line.state === 'estop') return { cls: 'state-alarm', key: 'shell.lineEstop' };
  if (line.state === 'jam') return { cls: 'state-alarm', key: 'shell.lineJam' };
  if (line.condition.failSafe) return { cls: 'state-failsafe', key: 'shell.lineRunning' };
  if (line.state === 'stopped') return { cls: 'state-stopped', key: 'shell.lineStopped' };
  if (line.state === 'running') return { cls: 'state-ok', key: 'shell.lineRunning' };
  return { cls: 'state-unknown', key: 'shell.lineStarting' };
}

export function StackLight({ lamps }: { lamps: Record<string, boolean> | null }) {
  return (
    <span class="stack" aria-label="stack light">
      {['red', 'amber', 'green', 'blue', 'white'].map((c) => (
        <i key={c} class={`lamp lamp-${c}${lamps?.[c] ? ' on' : ''}`} title={c} />
      ))}
    </span>
  );
}

export function Header(props: {
  session: SessionInfo;
  line: LineView | null;
  online: boolean;
  pages: PageDef[];
  current: string;
  onLogout: () => void;
}) {
  const t = useT();
  const { lang, setLang } = useContext(I18n);
  const [open, setOpen] = useState(false);
  const badge = lineBadge(props.line);
  return (
    <header>
      <div class="bar">
        <div class={`linestate ${badge.cls}`} data-testid="line-state">
          <strong>{t(badge.key)}</strong>
          {props.line?.reason ? <span class="reason">{props.line.reason}</span> : null}
          {!props.online ? <span class="reason">{t('shell.offline')}</span> : null}
        </div>
        <StackLight lamps={props.line?.lamps ?? null} />
        <span class="spacer" />
        <span class="who" data-testid="who">
          {props.session.name} · {t(`shell.role_${props.session.role}`)}
        </span>
        <button class="ghost" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')}>
          {t('shell.language')}
        </button>
        <button class="ghost" onClick={props.onLogout}>
          {t('shell.logout')}
        </button>
        <button class="ghost menu" onClick={() => setOpen(!open)} aria-label={t('shell.menu')}>
          ☰
        </button>
      </div>
      <nav class={open ? 'open' : ''}>
        <span class="product">{t('shell.product')}</span>
        {props.pages.map((p) => (
          <a
            key={p.path}
            href={`#${p.path}`}
            class={p.path === props.current ? 'active' : ''}
            onClick={() => setOpen(false)}
          >
            {t(p.titleKey)}
          </a>
        ))}
      </nav>
    </header>
  );
}
