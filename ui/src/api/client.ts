// The one place the UI talks HTTP: every call goes to the REST API under
// /api/v1 on the origin that served the page, with the API token when
// there is one.
import { apiToken, tokenRefused } from './token';

export const API_BASE = '/api/v1';

/** An API answer that was not a success, with the server's message when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Query = Record<string, string | number | boolean | undefined | null | (string | number)[]>;

/**
 * The URL of an API path with its query. undefined and null leave a
 * parameter out; '' is sent, as attr.KEY= means "has the key".
 */
export function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) v.forEach((x) => params.append(k, String(x)));
    else params.set(k, String(v));
  }
  const qs = params.toString();
  return `${API_BASE}${path}${qs ? `?${qs}` : ''}`;
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    const msg = body.message ?? body.error;
    if (typeof msg === 'string' && msg) return msg;
    if (msg && typeof msg === 'object' && 'message' in msg && typeof msg.message === 'string') return msg.message;
  } catch {
    // Not JSON: use the text itself.
  }
  return text.trim().slice(0, 300) || `${res.status} ${res.statusText}`;
}

/**
 * GETs path and decodes its JSON. Statuses in alsoOk are answers too (GET
 * /status says 503 with a full body when ClickHouse is down).
 */
export async function getJSON<T>(path: string, query?: Query, signal?: AbortSignal, alsoOk: number[] = []): Promise<T> {
  const url = buildUrl(path, query);
  const token = apiToken();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(url, { signal, headers });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, `Cannot reach the Coldtrace API (${(err as Error).message}). Is coldtrace running?`, path);
  }
  if (res.status === 401) {
    tokenRefused(token);
    throw new ApiError(401, token ? 'The API token was refused.' : 'This Coldtrace requires an API token.', path);
  }
  if (!res.ok && !alsoOk.includes(res.status)) throw new ApiError(res.status, await errorMessage(res), path);
  return (await res.json()) as T;
}
