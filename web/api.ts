/**
 * The page's one way to the master: the API, with the operator's key. The key is kept in
 * sessionStorage (this tab, until it closes), never in a URL or a cookie, and sent as X-API-Key on
 * every call; a 401 forgets it and asks again. With no key the call goes out bare, which is what
 * a master behind mutual TLS (the browser's client certificate) or with FFRTMP_NO_AUTH wants.
 */
const KEY = 'ffrtmp.api-key';

export const apiKey = {
  get: (): string => sessionStorage.getItem(KEY) ?? '',
  set: (key: string): void => sessionStorage.setItem(KEY, key),
  clear: (): void => sessionStorage.removeItem(KEY),
};

/** Fired on window when the master refused the call (detail: whether a key was sent): the app asks for the key. */
export const UNAUTHORIZED_EVENT = 'ffrtmp:unauthorized';

/** A refusal in the API's error format ({"error", "status"}). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey.get();
  return key ? { ...extra, 'X-API-Key': key } : extra;
}

/** A refused call: the key is forgotten on 401 (the form asks again), and the API's message thrown. */
export async function failure(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => null)) as { error?: string } | null;
  if (res.status === 401) {
    const hadKey = apiKey.get() !== '';
    apiKey.clear();
    window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT, { detail: hadKey }));
  }
  return new ApiError(res.status, body?.error ?? `${res.status} ${res.statusText}`);
}

export async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: authHeaders(body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/**
 * The fields a 400 names, by path: the API words each problem `parameters.bitrate: must be …`,
 * several joined by "; ". What names no field stays under "".
 */
export function fieldErrors(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split('; ')) {
    const m = /^([a-z_]+(?:\.[a-z_]+)*): (.+)$/s.exec(part);
    const field = m?.[1] ?? '';
    const text = m?.[2] ?? part;
    out.set(field, out.has(field) ? `${out.get(field)}; ${text}` : text);
  }
  return out;
}
