import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { BUNDLES } from './i18n/index.js';

/**
 * Chinese and English. Strings live per page in i18n/<page>.ts as { en: {...}, zh: {...} } and
 * are merged here under the file's name: t('overview.title'). zh-CN is the default on a
 * Chinese browser; the choice is kept in localStorage. A missing zh string falls back to en,
 * a missing key shows the key (visible in screenshots, caught by the i18n test).
 */

export type Lang = 'en' | 'zh';

export function initialLang(): Lang {
  const saved = localStorage.getItem('edge.lang');
  if (saved === 'en' || saved === 'zh') return saved;
  const preferred = navigator.languages?.[0] ?? navigator.language ?? 'en';
  return preferred.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export type Translate = (key: string, vars?: Record<string, string | number>) => string;

export function translator(lang: Lang): Translate {
  return (key, vars) => {
    const dot = key.indexOf('.');
    const bundle = BUNDLES[key.slice(0, dot)];
    const name = key.slice(dot + 1);
    let s = bundle?.[lang]?.[name] ?? bundle?.en[name] ?? key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
    return s;
  };
}

export const I18n = createContext<{ lang: Lang; t: Translate; setLang: (l: Lang) => void }>({
  lang: 'en',
  t: translator('en'),
  setLang: () => undefined,
});

/** `t` for one page's strings: useT('overview')('title') === t('overview.title'). */
export function useT(page?: string): Translate {
  const { t } = useContext(I18n);
  return page ? (key, vars) => t(key.includes('.') ? key : `${page}.${key}`, vars) : t;
}
