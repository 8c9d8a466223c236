// The operations of the WASM package (web/pkg, built by scripts/build-wasm.sh
// from crates/mpegs-wasm), run in the worker or, where no worker can start,
// on the page itself.
import init, { attest, deviceAddress, deviceKey, keySetInfo, verify } from '../pkg/mpegs_wasm.js';

export type Op = 'verify' | 'keySetInfo' | 'deviceKey' | 'deviceAddress' | 'attest';
export type Progress = (done: number, total: number, stage: string) => void;

let ready: Promise<unknown> | null = null;

/** The outcome of `verify`: the report JSON, the last stage reached and how long it took. */
export interface VerifyResult {
  report: string;
  lastStage: string;
  ms: number;
}

export async function run(op: Op, args: unknown[], progress: Progress): Promise<unknown> {
  ready ??= init();
  await ready;
  switch (op) {
    case 'verify': {
      const [image, bundle, keySet, secret] = args as [Uint8Array, string, string, string | undefined];
      let lastStage = '';
      const t0 = performance.now();
      const report = verify(image, bundle, keySet, secret, (done: number, total: number, stage: string) => {
        lastStage = stage;
        progress(done, total, stage);
      });
      return { report, lastStage, ms: performance.now() - t0 } satisfies VerifyResult;
    }
    case 'keySetInfo':
      return keySetInfo(args[0] as string);
    case 'deviceKey':
      return deviceKey();
    case 'deviceAddress':
      return deviceAddress(args[0] as string);
    case 'attest': {
      const [pixels, w, h, channels, key, deviceId, capturedAt, tile] = args as [
        Uint8Array, number, number, number, string, string, number, number,
      ];
      const a = attest(pixels, w, h, channels, key, deviceId, capturedAt, tile) as {
        png: Uint8Array;
        bundle: string;
        secret: string;
      };
      return { png: a.png, bundle: a.bundle, secret: a.secret };
    }
  }
}
