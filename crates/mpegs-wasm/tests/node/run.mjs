// Runs the built WASM package (web/pkg, wasm-bindgen --target web) in Node.js on
// files a Rust test wrote, for tests/parity.rs:
//
//   node run.mjs PKG verify CORPUS [REPEAT]
//     CORPUS/cases.json: [{name, image, bundle, keys, secret?, expected?, error?, steps?}]
//     (file names inside CORPUS). Each case's report must equal the expected
//     file byte for byte, or verify must throw an Error whose message contains
//     `error`. Prints one JSON line per case (time in ms: the median of REPEAT
//     runs); exits 1 on any mismatch.
//   node run.mjs PKG attest REQUEST OUT
//     REQUEST: {pixels, width, height, channels, device_id, captured_at, tile};
//     writes key.json, picture.png, picture.png.mpegs.json and
//     picture.png.mpegs.secret.json to OUT, after checking that bad input throws.
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";

const [pkgDir, mode, ...args] = process.argv.slice(2);
const wasm = await import(pathToFileURL(join(resolve(pkgDir), "mpegs_wasm.js")).href);
wasm.initSync({ module: readFileSync(join(pkgDir, "mpegs_wasm_bg.wasm")) });

let failures = 0;
function fail(message) {
  console.error(`FAIL ${message}`);
  failures += 1;
}

function throws(what, f, needle) {
  try {
    f();
  } catch (e) {
    if (!(e instanceof Error)) return fail(`${what}: threw a non-Error ${e}`);
    if (needle && !e.message.includes(needle)) {
      return fail(`${what}: message "${e.message}" lacks "${needle}"`);
    }
    return;
  }
  fail(`${what}: did not throw`);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

if (mode === "verify") {
  const [corpus, repeatArg] = args;
  const repeat = Number(repeatArg ?? 1);
  const cases = JSON.parse(readFileSync(join(corpus, "cases.json"), "utf8"));
  const read = (name) => readFileSync(join(corpus, name));
  for (const c of cases) {
    const image = new Uint8Array(read(c.image));
    const bundle = read(c.bundle).toString("utf8");
    const keys = read(c.keys).toString("utf8");
    const secret = c.secret ? read(c.secret).toString("utf8") : undefined;
    if (c.error) {
      throws(c.name, () => wasm.verify(image, bundle, keys, secret), c.error);
      console.log(JSON.stringify({ name: c.name, threw: true }));
      continue;
    }
    const expected = read(c.expected).toString("utf8");
    const calls = [];
    let report;
    const times = [];
    for (let i = 0; i < repeat; i++) {
      calls.length = 0;
      const start = performance.now();
      report = wasm.verify(image, bundle, keys, secret, (done, total, stage) =>
        calls.push([done, total, stage]),
      );
      times.push(performance.now() - start);
    }
    if (report !== expected) {
      fail(`${c.name}: the report differs from the native one\n--- wasm\n${report}\n--- native\n${expected}`);
    }
    const parsed = JSON.parse(report);
    // Progress: monotone, the same total throughout, once per step at least,
    // complete when valid.
    for (let i = 1; i < calls.length; i++) {
      if (calls[i][0] < calls[i - 1][0] || calls[i][1] !== calls[0][1]) {
        fail(`${c.name}: progress went backwards or changed its total: ${JSON.stringify(calls)}`);
        break;
      }
    }
    for (const step of c.steps ?? []) {
      if (!calls.some(([, , stage]) => stage.startsWith(step))) {
        fail(`${c.name}: no progress for "${step}": ${JSON.stringify(calls)}`);
      }
    }
    if (parsed.valid) {
      const last = calls[calls.length - 1];
      if (!last || last[0] !== last[1]) fail(`${c.name}: progress did not reach its total`);
    }
    console.log(
      JSON.stringify({
        name: c.name,
        valid: parsed.valid,
        proofs: parsed.proofs_verified,
        ms: Number(median(times).toFixed(2)),
        first_ms: Number(times[0].toFixed(2)),
        progress_calls: calls.length,
      }),
    );
  }
  // A key set is checked before anything is verified; keySetInfo makes the same checks.
  const c = cases.find((c) => c.expected);
  const keys = read(c.keys).toString("utf8");
  const info = JSON.parse(wasm.keySetInfo(keys));
  const listed = JSON.parse(keys).keys;
  if (info.length !== listed.length || info.some((k, i) => k.id !== listed[i].id || k.vk_hash !== listed[i].vk_hash)) {
    fail("keySetInfo does not list the key set's keys");
  }
  throws("keySetInfo of garbage", () => wasm.keySetInfo("{"), "key set");
  throws("verify with garbage keys", () => wasm.verify(new Uint8Array(), "{}", "[]"), "key set");
} else if (mode === "attest") {
  const [requestFile, out] = args;
  const r = JSON.parse(readFileSync(requestFile, "utf8"));
  const pixels = new Uint8Array(readFileSync(r.pixels));
  const key = wasm.deviceKey();
  const address = wasm.deviceAddress(key);
  if (!/^0x[0-9a-f]{40}$/.test(address)) fail(`deviceAddress: ${address}`);
  if (wasm.deviceKey() === key) fail("deviceKey: the same key twice");
  const a = wasm.attest(pixels, r.width, r.height, r.channels, key, r.device_id, r.captured_at, r.tile);
  if (!(a.png instanceof Uint8Array) || typeof a.bundle !== "string" || typeof a.secret !== "string") {
    fail(`attest returned ${Object.keys(a)}`);
  }
  writeFileSync(join(out, "key.json"), key);
  writeFileSync(join(out, "address.txt"), address);
  writeFileSync(join(out, "picture.png"), a.png);
  writeFileSync(join(out, "picture.png.mpegs.json"), a.bundle);
  writeFileSync(join(out, "picture.png.mpegs.secret.json"), a.secret);
  // The owner verifies the private original in the browser too (an attestation
  // needs no circuit keys); without the secret it is private.
  const noKeys = JSON.stringify({ version: 1, keys: [] });
  const own = JSON.parse(wasm.verify(a.png, a.bundle, noKeys, a.secret));
  if (!own.valid || own.origin.device !== address) fail(`own attestation: ${JSON.stringify(own)}`);
  const anyone = JSON.parse(wasm.verify(a.png, a.bundle, noKeys));
  if (anyone.valid || !anyone.reason.includes("private")) fail(`without the secret: ${JSON.stringify(anyone)}`);
  // Unusable input throws an Error with a reason; nothing panics.
  const { width: w, height: h, channels: n, tile } = r;
  throws("a short buffer", () => wasm.attest(pixels.subarray(1), w, h, n, key, "x", 0, tile), "bytes");
  throws("2 channels", () => wasm.attest(pixels, w, h, 2, key, "x", 0, tile), "channels");
  throws("a bad key", () => wasm.attest(pixels, w, h, n, "{}", "x", 0, tile), "device key");
  throws("a bad address key", () => wasm.deviceAddress("not json"), "device key");
  throws("a bad tile", () => wasm.attest(pixels, w, h, n, key, "x", 0, 7), "tile");
  throws("a negative time", () => wasm.attest(pixels, w, h, n, key, "x", -1, tile), "capturedAt");
  if (n === 4) {
    const clear = pixels.slice();
    clear[3] = 0;
    throws("a transparent pixel", () => wasm.attest(clear, w, h, n, key, "x", 0, tile), "transparent");
  }
  console.log(JSON.stringify({ address, png_bytes: a.png.length }));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
if (failures > 0) {
  console.error(`${failures} failure(s)`);
  process.exit(1);
}
