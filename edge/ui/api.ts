/**
 * The console's API client: the session cookie goes with every request (same origin), the
 * session's CSRF token goes in `x-csrf-token` on every write, background polls say so (they do
 * not count as activity for the idle timeout), and a 401 means the session is over.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
const expiredListeners = new Set<() => void>();

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when the server answers 401 (session ended, logged out elsewhere, idle). */
export function onSessionExpired(fn: () => void): () => void {
  expiredListeners.add(fn);
  return () => expiredListeners.delete(fn);
}

export interface RequestOptions {
  /** a poll or refresh the user did not ask for */
  background?: boolean;
  /** body sent as is with this content type (YAML text) */
  contentType?: string;
  accept?: string;
}

export async function request<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  o: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (o.background) headers['x-edge-background'] = '1';
  if (o.accept) headers.accept = o.accept;
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = o.contentType ?? 'application/json';
    payload = typeof body === 'string' && o.contentType ? body : JSON.stringify(body);
  }
  const res = await fetch(path, {
    method,
    headers,
    body: payload,
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const type = res.headers.get('content-type') ?? '';
  const data: unknown = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const err = (typeof data === 'object' && data ? data : {}) as {
      code?: string;
      message?: string;
    };
    if (res.status === 401 && path !== '/api/session') for (const fn of expiredListeners) fn();
    throw new ApiError(
      res.status,
      err.code ?? `HTTP_${res.status}`,
      err.message ?? (typeof data === 'string' ? data : res.statusText),
      data,
    );
  }
  return data as T;
}

export const api = {
  get: <T = unknown>(path: string, o?: RequestOptions) => request<T>('GET', path, undefined, o),
  post: <T = unknown>(path: string, body?: unknown, o?: RequestOptions) =>
    request<T>('POST', path, body ?? {}, o),
  put: <T = unknown>(path: string, body: unknown, o?: RequestOptions) =>
    request<T>('PUT', path, body, o),
  del: <T = unknown>(path: string, o?: RequestOptions) => request<T>('DELETE', path, undefined, o),
};

/**
 * Server-sent events: `handlers[event]` gets each event's parsed data ('message' for unnamed
 * ones). Reconnects by itself (EventSource); returns a function that closes the stream.
 */
export function sse(
  path: string,
  handlers: Record<string, (data: never) => void>,
  onState?: (open: boolean) => void,
): () => void {
  const source = new EventSource(path, { withCredentials: true });
  for (const [event, fn] of Object.entries(handlers)) {
    source.addEventListener(event, (e) =>
      fn(JSON.parse((e as MessageEvent<string>).data) as never),
    );
  }
  source.onopen = () => onState?.(true);
  source.onerror = () => onState?.(false);
  return () => source.close();
}

export interface SessionInfo {
  name: string;
  role: Role;
  csrfToken: string | null;
  idleTimeoutS: number;
}

export type Role = 'viewer' | 'inspector' | 'technician' | 'admin';
export const ROLE_RANK: Record<Role, number> = { viewer: 0, inspector: 1, technician: 2, admin: 3 };
export const allows = (role: Role, min: Role) => ROLE_RANK[role] >= ROLE_RANK[min];
