import { ApiError } from '../api.js';
import { useT, type Translate } from '../i18n.js';
import { safeLink, type FlagView } from './types.js';

/** Pieces shared by the inspector pages: error texts, reason chips, the CT image link. */

export function errorText(t: Translate, err: unknown): string {
  if (err instanceof ApiError) {
    const key = `err_${err.code}`;
    const s = t(key, { message: err.message });
    return s === `inspector.${key}` ? t('err_other', { message: err.message }) : s;
  }
  return t('err_other', { message: (err as Error).message });
}

export function ReasonChips({ reasons }: { reasons: readonly string[] }) {
  const t = useT('inspector');
  return (
    <>
      {reasons.map((r) => (
        <span key={r} class={`insp-chip r-${r}`} data-reason={r}>
          {t(`reason_${r}`)}
        </span>
      ))}
    </>
  );
}

export function ImageLink({ flag }: { flag: Pick<FlagView, 'imageUrl' | 'imageId'> }) {
  const t = useT('inspector');
  const href = safeLink(flag.imageUrl);
  if (!href) return <span class="insp-hint">{flag.imageId ?? t('noImage')}</span>;
  return (
    <a
      class="insp-image"
      href={href}
      target="_blank"
      rel="noopener noreferrer"
      title={flag.imageId ?? ''}
      data-testid="image-link"
    >
      {t('viewImage')}
    </a>
  );
}
