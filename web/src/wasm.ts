// The page's handle on the WASM verifier: a Web Worker when the page can start
// one, else the same code on the page (a page opened from a file).
import type { Op, Progress, VerifyResult } from './wasm-ops';

export type { VerifyResult };

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; progress?: Progress };

class Verifier {
  private worker: Worker | null = null;
  private next = 1;
  private pending = new Map<number, Pending>();
  /** Where the code runs: 'worker' or 'page'. */
  where: 'worker' | 'page' = 'worker';

  constructor() {
    try {
      this.worker = new Worker(new URL('./wasm-worker.ts', import.meta.url), { type: 'module' });
      this.worker.onmessage = (ev) => this.answer(ev.data);
      this.worker.onerror = (ev) => {
        // A worker that cannot load (e.g. from file://): run on the page from now on.
        ev.preventDefault();
        this.fallBack(new Error(ev.message || 'the verifier worker could not start'));
      };
    } catch {
      this.worker = null;
      this.where = 'page';
    }
  }

  private fallBack(why: Error) {
    console.warn(`mpegs: ${why.message}; verifying on the page instead`);
    this.worker?.terminate();
    this.worker = null;
    this.where = 'page';
    const waiting = [...this.pending.entries()];
    this.pending.clear();
    for (const [, p] of waiting) p.reject(new RetryOnPage());
  }

  private answer(msg: { id: number; progress?: { done: number; total: number; stage: string }; result?: unknown; error?: string }) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.progress) {
      p.progress?.(msg.progress.done, msg.progress.total, msg.progress.stage);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve(msg.result);
  }

  async call<T>(op: Op, args: unknown[], progress?: Progress): Promise<T> {
    if (this.worker) {
      try {
        return await new Promise<T>((resolve, reject) => {
          const id = this.next++;
          this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, progress });
          this.worker!.postMessage({ id, op, args });
        });
      } catch (e) {
        if (!(e instanceof RetryOnPage)) throw e;
      }
    }
    const { run } = await import('./wasm-ops');
    return (await run(op, args, progress ?? (() => {}))) as T;
  }
}

class RetryOnPage extends Error {}

export const wasm = new Verifier();

export function verify(
  image: Uint8Array,
  bundle: string,
  keySet: string,
  secret: string | undefined,
  progress: Progress,
): Promise<VerifyResult> {
  return wasm.call<VerifyResult>('verify', [image, bundle, keySet, secret], progress);
}

export interface KeyInfo {
  id: string;
  vk_hash: string;
  description: unknown;
}

export async function keySetInfo(keySet: string): Promise<KeyInfo[]> {
  return JSON.parse(await wasm.call<string>('keySetInfo', [keySet])) as KeyInfo[];
}
