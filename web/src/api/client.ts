// The dashboard's only way to the server: the public API, with the session cookie (same origin) and
// types generated from the API's own OpenAPI document (schema.d.ts). No private endpoint exists.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type { paths, components };

/** An API answer that was not a success, with the contract's human `error` message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

type Listener = (status: number) => void;
const listeners = new Set<Listener>();
/** Called with 401 (session gone) so the app can send the user to sign-in and back. */
export const onAuthFailure = (fn: Listener) => {
  listeners.add(fn);
  return () => listeners.delete(fn);
};

const authWatcher: Middleware = {
  onResponse({ response, request }) {
    if (response.status === 401 && !new URL(request.url).pathname.startsWith('/api/auth/')) for (const l of listeners) l(401);
    return undefined;
  },
};

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(authWatcher);

/** Reads the contract's error shape `{ error, code, details }`, whatever the status. */
export function toApiError(status: number, body: unknown): ApiError {
  const b = (body ?? {}) as { error?: unknown; code?: unknown; details?: unknown };
  const message = typeof b.error === 'string' ? b.error : status === 0 ? 'The server could not be reached' : `Request failed (${status})`;
  return new ApiError(status, message, typeof b.code === 'string' ? b.code : undefined, b.details);
}

/** Unwraps an openapi-fetch result: the data, or an ApiError carrying the server's words. */
export async function unwrap<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let r;
  try {
    r = await p;
  } catch {
    throw new ApiError(0, 'The server could not be reached. Check your connection and try again.');
  }
  if (!r.response.ok) throw toApiError(r.response.status, r.error);
  return r.data as T;
}

/** Validation details (400) as "field: message" lines, when the server gave them. */
export function detailLines(err: unknown): string[] {
  if (!(err instanceof ApiError) || !Array.isArray(err.details)) return [];
  return (err.details as { path?: unknown; message?: string }[])
    .filter((d) => d && typeof d.message === 'string')
    .map((d) => (typeof d.path === 'string' && d.path ? `${d.path}: ${d.message}` : d.message!));
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * POSTs a file as multipart (`file` field) with upload progress, which fetch cannot report:
 * XMLHttpRequest's upload events drive the progress bar of the CSV import.
 */
export function uploadFile<T>(url: string, file: File, onProgress: (p: UploadProgress) => void, signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.withCredentials = true;
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response as T);
      else {
        if (xhr.status === 401) for (const l of listeners) l(401);
        reject(toApiError(xhr.status, xhr.response));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, 'The upload failed: the server could not be reached.'));
    xhr.onabort = () => reject(new ApiError(0, 'Upload cancelled'));
    signal?.addEventListener('abort', () => xhr.abort());
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

/** The JSON body of a route's success answer, from the generated types: `Body<'/api/customers/import', 'post'>`. */
export type Body<P extends keyof paths, M extends keyof paths[P], S extends number = 200> = paths[P][M] extends {
  responses: { [K in S]: { content: { 'application/json': infer B } } };
}
  ? B
  : never;

/** Validation details (400) keyed by field path ("number", "definition.nodes.main.text"…), for showing each by its field. */
export function detailsByPath(err: unknown): Record<string, string> {
  if (!(err instanceof ApiError) || !Array.isArray(err.details)) return {};
  const out: Record<string, string> = {};
  for (const d of err.details as { path?: unknown; message?: string }[]) {
    if (d && typeof d.path === 'string' && typeof d.message === 'string') out[d.path] = out[d.path] ? `${out[d.path]}; ${d.message}` : d.message;
  }
  return out;
}

export const isNotFoundError = (err: unknown) => err instanceof ApiError && err.status === 404;
