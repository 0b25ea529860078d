import { useState } from 'preact/hooks';
import { useContext } from 'preact/hooks';
import { I18n, useT } from '../i18n.js';

export function Login(props: {
  notice: string | null;
  onLogin: (name: string, password: string) => Promise<string | null>;
}) {
  const t = useT();
  const { lang, setLang } = useContext(I18n);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <div class="login">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          void props.onLogin(name, password).then((err) => {
            setBusy(false);
            setError(err);
          });
        }}
      >
        <h1>{t('shell.product')}</h1>
        {props.notice ? <p class="notice">{props.notice}</p> : null}
        <label>
          {t('shell.user')}
          <input
            name="user"
            autocomplete="username"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            required
          />
        </label>
        <label>
          {t('shell.password')}
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
        </label>
        {error ? <p class="error">{error}</p> : null}
        <button type="submit" disabled={busy}>
          {t('shell.login')}
        </button>
        <button type="button" class="ghost" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')}>
          {t('shell.language')}
        </button>
      </form>
    </div>
  );
}
