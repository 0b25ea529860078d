/**
 * The link to the CT vendor's image viewer, from `inspector.imageUrlTemplate` (for example
 * `https://ct.local/view?img={imageId}`). Each placeholder is replaced by its value
 * URL-encoded (encodeURIComponent), so an id cannot add query parameters, change the path or the
 * host, or break out of an HTML attribute. The template itself must be an http(s) URL (schema and
 * `imageLinkIssue`), so a link can never be `javascript:`. A placeholder without a value (no
 * image id yet): no link.
 */

export interface ImageIds {
  imageId: string | null;
  scanId: string | null;
  parcelId: string;
  waybill: string | null;
}

const PLACEHOLDER = /\{(imageId|scanId|parcelId|waybill)\}/g;

export function imageUrl(template: string | undefined, ids: ImageIds): string | null {
  if (!template) return null;
  let missing = false;
  const url = template.replace(PLACEHOLDER, (_m, name: keyof ImageIds) => {
    const value = ids[name];
    if (value === null || value === '') {
      missing = true;
      return '';
    }
    return encodeURIComponent(value);
  });
  return missing ? null : url;
}

/** Why a template cannot be used, or null (checked at start: http(s), a host, known names). */
export function imageLinkIssue(template: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(template.replace(PLACEHOLDER, 'x'));
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must be http(s)';
  const unknown = /\{([^}]*)\}/.exec(template.replace(PLACEHOLDER, ''));
  if (unknown)
    return `unknown placeholder {${unknown[1]}} (use imageId, scanId, parcelId, waybill)`;
  if (!template.includes('{imageId}') && !template.includes('{scanId}'))
    return 'names neither {imageId} nor {scanId}';
  return null;
}
