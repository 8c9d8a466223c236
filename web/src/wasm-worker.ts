// The WASM verifier in a Web Worker, so verifying and attesting never block the
// page. Messages: {id, op, args}; answers {id, progress} while working, then
// {id, result} or {id, error}.
import { run, type Op } from './wasm-ops';

self.onmessage = async (ev: MessageEvent<{ id: number; op: Op; args: unknown[] }>) => {
  const { id, op, args } = ev.data;
  try {
    const result = await run(op, args, (done, total, stage) => {
      (self as unknown as Worker).postMessage({ id, progress: { done, total, stage } });
    });
    (self as unknown as Worker).postMessage({ id, result });
  } catch (e) {
    (self as unknown as Worker).postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
};
