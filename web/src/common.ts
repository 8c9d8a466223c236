// Shared by the pages: the API's JSON shapes, fetch helpers, small DOM helpers.
import './style.css';

/** A media item as `GET /v1/media/{commitment}` returns it (docs/service.md). */
export interface MediaItem {
  commitment: string;
  kind: 'attestation' | 'edit';
  parent: string | null;
  children: string[];
  format: string;
  width: number;
  height: number;
  tile: number;
  device: string | null;
  captured_at: number | null;
  steps: { filter: string; tiles: number; circuits: number }[];
  verification: { status: string; proofs_verified: number; verified_at: number };
  published: boolean;
  created_at: number;
}

export interface GraphNode {
  commitment: string;
  role: 'original' | 'edit' | 'intermediate';
  format: string;
  width: number;
  height: number;
  tile: number;
  device?: string;
  device_id?: string;
  captured_at?: number;
  published: boolean;
  available: boolean;
}

export interface GraphEdge {
  from: string;
  to: string;
  edit: string;
  step: number;
  filter: string;
  tiles: number;
  proofs: number;
  circuits: number;
}

export interface JobStatus {
  id: string;
  input: string;
  vf: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  progress: { done: number; total: number };
  output: string | null;
  error: string | null;
}

/** One registry record (`mpegs chain status` gives the same). */
export interface ChainRecord {
  commitment: string;
  kind: 'original' | 'edit' | 'anchored';
  verification: string;
  parent: string | null;
  device: string | null;
  registrant: string;
  registered_at: number;
  proofs: number;
  revoked_at: number | null;
}

/** The configured chain's records of a graph's items. */
export interface ChainRecords {
  chain_id: number;
  registry: string;
  anchorer: string;
  records: ChainRecord[];
}

export interface Graph {
  commitment: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
  jobs: JobStatus[];
  /** null: no chain configured (no contracts deployed); error: unreadable. */
  chain: ChainRecords | { error: string } | null;
  truncated: boolean;
}

/** An error the API answered with (`{"error", "reason"}`), or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    reason: string,
  ) {
    super(reason);
  }
}

async function failure(r: Response): Promise<ApiError> {
  try {
    const body = await r.json();
    return new ApiError(r.status, String(body.error ?? 'error'), String(body.reason ?? r.statusText));
  } catch {
    return new ApiError(r.status, 'error', `${r.status} ${r.statusText}`);
  }
}

/** Where the capture page keeps the token pasted into it (this origin only). */
export const TOKEN_KEY = 'mpegs.token';

/**
 * `init` with the stored token as `Authorization`, unless it names one: with a
 * token, reads also show its account's own private items and jobs (without,
 * only what is public).
 */
function withToken(init?: RequestInit): RequestInit | undefined {
  let token: string | null = null;
  try {
    token = localStorage.getItem(TOKEN_KEY)?.trim() || null;
  } catch {
    // Storage may be unavailable (a sandboxed or private page): read as anyone.
  }
  const headers = new Headers(init?.headers);
  if (!token || headers.has('Authorization')) return init;
  headers.set('Authorization', `Bearer ${token}`);
  return { ...init, headers };
}

/** `fetch` (same-origin paths) that throws an ApiError unless the answer is 2xx. */
export async function request(path: string, init?: RequestInit): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(path, withToken(init));
  } catch (e) {
    throw new ApiError(0, 'network', `cannot reach the service: ${(e as Error).message}`);
  }
  if (!r.ok) throw await failure(r);
  return r;
}

/**
 * Reads a server-sent event stream with `fetch`, so that it can carry an
 * `Authorization` header (`EventSource` cannot, and a job's events are only
 * for its owner). Calls `onEvent` for each event; resolves when the stream
 * ends, rejects with an ApiError if the server refuses it or the network fails.
 */
export async function events(
  path: string,
  headers: HeadersInit,
  onEvent: (name: string, data: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const r = await request(path, { headers: { ...headers, Accept: 'text/event-stream' }, signal });
  if (!r.body) throw new ApiError(0, 'network', 'the event stream has no body');
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    let chunk: ReadableStreamReadResult<string>;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw new ApiError(0, 'network', `lost the event stream: ${(e as Error).message}`);
    }
    if (chunk.done) return;
    buffer += chunk.value.replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue; // keep-alive comment
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') name = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length) onEvent(name, data.join('\n'));
    }
  }
}

export async function getJson<T>(path: string): Promise<T> {
  return (await request(path)).json() as Promise<T>;
}

/** Creates an element with attributes and children (strings become text). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) {
    if (c !== null && c !== undefined) e.append(c);
  }
  return e;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing element #${id}`);
  return e as T;
}

/** `0x1234…abcd` */
export function short(hex: string, keep = 6): string {
  return hex.length > 2 * keep + 4 ? `${hex.slice(0, keep + 2)}…${hex.slice(-keep)}` : hex;
}

export function utc(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function filterName(filter: string): string {
  return filter.split('=')[0];
}

export function isCommitment(s: string): boolean {
  return /^0x[0-9a-f]{64}$/.test(s);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
