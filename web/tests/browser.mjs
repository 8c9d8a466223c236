// The explorer in a real browser: Debian's chromium, headless, driven by
// playwright-core against a running `mpegs serve` (crates/mpegs-cli/tests/
// browser.rs starts the server and runs each phase):
//
//   node web/tests/browser.mjs flow   capture with the fake camera → attest →
//                                     upload → edit job → graph → verify (valid)
//   node web/tests/browser.mjs files  /verify: the output (valid), one changed
//                                     pixel (invalid at the pixels), a swapped
//                                     proof (invalid at its step); then the
//                                     static page from a folder with no server
//   node web/tests/browser.mjs chain  the item page after the history was
//                                     registered on the server's chain: a
//                                     record badge on the edit and the
//                                     original, the records listed as text
//   node web/tests/browser.mjs bench IMAGE BUNDLE KEYS [RUNS]
//                                     time in-browser verification (static page)
//   node web/tests/browser.mjs corpus CORPUS
//                                     the WASM package (web/pkg) in the page
//                                     verifies each case of CORPUS/cases.json
//                                     (crates/mpegs-wasm/tests/parity.rs writes
//                                     it): the report must equal the native one
//                                     byte for byte, or verify must throw the
//                                     expected Error
//
// Environment: MPEGS_URL (the server), MPEGS_TOKEN, MPEGS_WORK (files shared
// with the Rust test), MPEGS_ARTIFACTS (screenshots), MPEGS_CHROMIUM
// (default /usr/bin/chromium). Any failed check exits non-zero with the reason.
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const DIST = resolve(here, '../dist');
const CHROMIUM = process.env.MPEGS_CHROMIUM || '/usr/bin/chromium';
const BASE = process.env.MPEGS_URL;
const TOKEN = process.env.MPEGS_TOKEN;
const WORK = process.env.MPEGS_WORK;
const ARTIFACTS = process.env.MPEGS_ARTIFACTS || resolve(here, '../../target/browser-artifacts');
/** How long a proving job may take in the test (tiny pictures, 16-pixel tiles). */
const JOB_TIMEOUT_MS = Number(process.env.MPEGS_JOB_TIMEOUT_MS || 300_000);
const VERIFY_TIMEOUT_MS = 120_000;

function fail(why) {
  console.error(`browser test FAILED: ${why}`);
  process.exit(1);
}
function check(ok, why) {
  if (!ok) fail(why);
}
function need(name, value) {
  check(value, `${name} is not set (crates/mpegs-cli/tests/browser.rs sets it)`);
  return value;
}

check(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: scripts/test.sh installs Debian's chromium (apt-get install chromium)`);
check(existsSync(join(DIST, 'verify.html')), `the explorer is not built (${DIST}): run ./scripts/build-web.sh`);
mkdirSync(ARTIFACTS, { recursive: true });

async function launch({ camera = false } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'mpegs-chromium-'));
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ];
  if (camera) args.push('--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: { width: 1100, height: 800 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  return {
    page,
    problems,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function shot(page, name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot ${path}`);
}

/** Waits for #verify-result to get its outcome; returns {status, text}. */
async function outcome(page) {
  await page.waitForSelector('#verify-result[data-verify-status]', { timeout: VERIFY_TIMEOUT_MS });
  return page.$eval('#verify-result', (e) => ({
    status: e.dataset.verifyStatus,
    error: e.dataset.verifyError === 'true',
    text: e.textContent,
    report: document.getElementById('verify-report-json')?.textContent ?? null,
    checks: [...e.querySelectorAll('.check')].map((c) => ({
      status: c.dataset.check,
      label: c.querySelector('strong')?.textContent,
      reason: c.querySelector('.reason')?.textContent ?? null,
    })),
  }));
}

async function getJson(path) {
  const r = await fetch(`${BASE}${path}`);
  check(r.ok, `GET ${path}: ${r.status}`);
  return r.json();
}

async function getBytes(path) {
  const r = await fetch(`${BASE}${path}`);
  check(r.ok, `GET ${path}: ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}

// ---------------------------------------------------------------- flow

/** Everything in the capture page's IndexedDB store, described for checks. */
function dumpDeviceStore(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('mpegs', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('device');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const store = open.result.transaction('device', 'readonly').objectStore('device');
      const keys = store.getAllKeys();
      const values = store.getAll();
      values.onsuccess = () => {
        const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
        resolve(keys.result.map((k, i) => {
          const v = values.result[i];
          if (v instanceof CryptoKey) return { key: k, kind: 'CryptoKey', extractable: v.extractable, algorithm: v.algorithm.name, type: v.type };
          if (typeof v === 'string') return { key: k, kind: 'string', value: v };
          if (v && v.ciphertext) return { key: k, kind: 'sealed', iv: hex(v.iv), ciphertext: hex(v.ciphertext) };
          return { key: k, kind: typeof v, value: JSON.stringify(v) };
        }));
        open.result.close();
      };
    };
  }));
}

/** Writes `value` (a string, or a sealed record given in hex) under `key`. */
function putDeviceStore(page, key, value) {
  return page.evaluate(([key, value]) => new Promise((resolve, reject) => {
    const bytes = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
    const record = typeof value === 'string' ? value : { iv: bytes(value.iv), ciphertext: bytes(value.ciphertext).buffer };
    const open = indexedDB.open('mpegs', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('device');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction('device', 'readwrite');
      tx.objectStore('device').put(record, key);
      tx.oncomplete = () => { open.result.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  }), [key, value]);
}

async function deviceAddressShown(page) {
  await page.goto(`${BASE}/capture`);
  await page.waitForFunction(() => /^(0x[0-9a-f]{40}|unavailable)/.test(document.getElementById('device-address')?.textContent ?? ''), null, { timeout: 60_000 });
  return page.textContent('#device-address');
}

/**
 * The device key at rest: a plaintext key an earlier page left in IndexedDB is
 * sealed under a non-extractable AES-GCM key and deleted; nothing stored holds
 * the secret; the sealed key opens again after a reload; an altered one is
 * refused with a reason.
 */
async function deviceKeyAtRest(page) {
  const legacy = JSON.parse(readFileSync(join(WORK, 'legacy-device.json'), 'utf8'));
  const secret = legacy.secret.replace(/^0x/, '').toLowerCase();
  await page.goto(`${BASE}/`); // the origin, before the capture page first runs
  await putDeviceStore(page, 'key', JSON.stringify(legacy));
  check((await deviceAddressShown(page)) === legacy.address, 'the capture page did not adopt the stored device key');
  const stored = await dumpDeviceStore(page);
  const byKey = Object.fromEntries(stored.map((e) => [e.key, e]));
  check(!byKey.key, 'the plaintext device key is still stored');
  check(byKey.wrap?.kind === 'CryptoKey' && byKey.wrap.extractable === false && byKey.wrap.algorithm === 'AES-GCM',
    `the wrapping key is not a non-extractable AES-GCM key: ${JSON.stringify(byKey.wrap)}`);
  check(byKey['sealed-key']?.kind === 'sealed', `no sealed device key: ${JSON.stringify(stored.map((e) => e.key))}`);
  const everything = JSON.stringify(stored).toLowerCase();
  check(!everything.includes(secret), 'the device secret is readable in IndexedDB');
  check(!everything.includes(secret.slice(0, 16)), 'a part of the device secret is readable in IndexedDB');
  check((await deviceAddressShown(page)) === legacy.address, 'the sealed device key did not open after a reload');
  // One flipped ciphertext byte: the page refuses the key instead of using another.
  const sealed = byKey['sealed-key'];
  const flipped = (parseInt(sealed.ciphertext.slice(0, 2), 16) ^ 1).toString(16).padStart(2, '0') + sealed.ciphertext.slice(2);
  await putDeviceStore(page, 'sealed-key', { iv: sealed.iv, ciphertext: flipped });
  const refused = await deviceAddressShown(page);
  check(/^unavailable: .*does not open/.test(refused), `an altered sealed key was not refused: ${refused}`);
  await putDeviceStore(page, 'sealed-key', { iv: sealed.iv, ciphertext: sealed.ciphertext });
  check((await deviceAddressShown(page)) === legacy.address, 'the restored sealed key did not open');
  console.log(`device key sealed at rest (${stored.length} entries, none plaintext); altered copy refused`);
}

async function flow() {
  need('MPEGS_URL', BASE);
  need('MPEGS_TOKEN', TOKEN);
  need('MPEGS_WORK', WORK);
  const { page, problems, close } = await launch({ camera: true });
  const t0 = Date.now();

  await deviceKeyAtRest(page);

  // Capture: a small snapshot of the fake camera, 16-pixel tiles.
  await page.goto(`${BASE}/capture`);
  check((await page.title()).includes('capture'), `the capture page did not load: ${await page.title()}`);
  await page.waitForFunction(() => /^0x[0-9a-f]{40}$/.test(document.getElementById('device-address')?.textContent ?? ''), null, { timeout: 60_000 });
  const device = await page.textContent('#device-address');
  await page.fill('#width', '64');
  await page.fill('#height', '48');
  await page.selectOption('#tile', '16');
  await page.click('#start-camera');
  await page.waitForFunction(() => !document.getElementById('snapshot').disabled, null, { timeout: 30_000 });
  await page.waitForTimeout(500); // a frame or two of the fake camera
  await page.click('#snapshot');
  await page.fill('#token', TOKEN);
  await page.click('#upload');
  await page.waitForSelector('#original-link', { timeout: 60_000 });
  const original = (await page.getAttribute('#original-link', 'href')).split('/').pop();
  console.log(`captured and uploaded ${original} (device ${device})`);

  // The redaction box, drawn with the mouse on the 64×48 snapshot.
  const canvas = await page.$('#snap');
  const box = await canvas.boundingBox();
  const sx = box.width / 64;
  const sy = box.height / 48;
  await page.mouse.move(box.x + 20 * sx + 1, box.y + 10 * sy + 1);
  await page.mouse.down();
  await page.mouse.move(box.x + 30 * sx, box.y + 16 * sy, { steps: 4 });
  await page.mouse.move(box.x + 36 * sx + 1, box.y + 22 * sy + 1, { steps: 4 });
  await page.mouse.up();
  const drawn = await page.evaluate(() => ['rx', 'ry', 'rw', 'rh'].map((id) => Number(document.getElementById(id).value)));
  check(drawn[0] === 20 && drawn[1] === 10 && drawn[2] === 16 && drawn[3] === 12, `the mouse drew box ${drawn}, expected 20,10,16,12`);
  check(await page.isChecked('#redact-on'), 'drawing did not turn the redaction on');
  await page.check('#crop-on');
  await page.fill('#cx', '8');
  await page.fill('#cy', '8');
  await page.fill('#cw', '40');
  await page.fill('#ch', '32');
  await page.dispatchEvent('#ch', 'input');
  const vf = await page.$eval('#vf', (e) => e.value);
  check(vf === 'drawbox=x=20:y=10:w=16:h=12:color=black:t=fill,crop=40:32:8:8,format=gray', `filter chain ${vf}`);
  await page.click('#submit-job');
  await page.waitForSelector('#job-progress:not([hidden])', { timeout: 30_000 });
  await page.waitForSelector('#edited-link', { timeout: JOB_TIMEOUT_MS });
  const output = (await page.getAttribute('#edited-link', 'href')).split('/').pop();
  const jobSeconds = (Date.now() - t0) / 1000;
  console.log(`edit job done: ${output} (${jobSeconds.toFixed(1)} s since the capture page opened)`);
  await shot(page, 'capture');

  // The item page: the graph, then verification in this browser.
  await page.goto(`${BASE}/m/${output}`);
  await page.waitForSelector('svg.graph .edge');
  const edges = await page.$$eval('svg.graph .edge', (es) => es.map((e) => ({ filter: e.dataset.filter, tiles: Number(e.dataset.tiles), proofs: Number(e.dataset.proofs) })));
  const filters = edges.map((e) => e.filter).join(',');
  check(filters === 'drawbox,crop,format', `graph edges ${filters}`);
  // 64×48 in 16-pixel tiles: 12 tiles; the 40×32 crop and its gray copy: 6 each.
  check(JSON.stringify(edges.map((e) => [e.tiles, e.proofs])) === '[[12,12],[6,6],[6,6]]', `tiles/proofs ${JSON.stringify(edges)}`);
  const roles = await page.$$eval('svg.graph .node', (ns) => ns.map((n) => n.dataset.role).join(','));
  check(roles === 'original,intermediate,intermediate,edit', `graph nodes ${roles}`);
  await page.waitForSelector('#keys table.keys', { state: 'attached' });
  const pinned = await page.$$eval('#keys tr.pinned', (rs) => rs.length);
  check(pinned > 0, 'the page shows no key hash the bundle pins');
  await page.waitForFunction(() => !document.getElementById('verify-button').disabled);
  await page.click('#trust summary');
  const t1 = Date.now();
  await page.click('#verify-button');
  const valid = await outcome(page);
  const verifyMs = Date.now() - t1;
  check(valid.status === 'valid', `in-browser verification of the edit: ${valid.text}`);
  check(valid.checks.length === 5 && valid.checks.every((c) => c.status === 'pass'), `checks ${JSON.stringify(valid.checks)}`);
  console.log(`verified in the browser: ${valid.text.split("\n")[0].split("✓")[0]} (click to result ${verifyMs} ms)`);
  await shot(page, 'item');

  // The original's page shows the same tree, the original private.
  await page.goto(`${BASE}/m/${original}`);
  await page.waitForSelector('svg.graph .edge');
  check(await page.$('.private-thumb') !== null, 'the private original shows its pixels');

  // Home: recent items, and search by device and by commitment prefix.
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#items .card');
  await page.fill('#q', device);
  await page.press('#q', 'Enter');
  await page.waitForFunction(() => /items from device/i.test(document.getElementById('items-h').textContent));
  await page.waitForFunction(() => /\d+ items?\./.test(document.getElementById('items-status').textContent));
  const byDevice = await page.$$eval('#items .card a', (as) => as.map((a) => a.getAttribute('href')));
  check(byDevice.length === 2 && byDevice.includes(`/m/${original}`) && byDevice.includes(`/m/${output}`), `device search found ${byDevice}`);
  await shot(page, 'home');
  await page.fill('#q', output.slice(0, 10));
  await page.press('#q', 'Enter');
  await page.waitForFunction(() => /starts with/i.test(document.getElementById('items-h').textContent));
  await page.waitForFunction(() => /\d+ items?\./.test(document.getElementById('items-status').textContent));
  const byPrefix = await page.$$eval('#items .card a', (as) => as.map((a) => a.getAttribute('href')));
  check(byPrefix.includes(`/m/${output}`) && !byPrefix.includes(`/m/${original}`), `prefix search found ${byPrefix}`);

  check(problems.length === 0, `the pages reported errors:\n${problems.join('\n')}`);
  // The files the next phase and the Rust test use.
  writeFileSync(join(WORK, 'out.png'), await getBytes(`/v1/media/${output}/image`));
  writeFileSync(join(WORK, 'out.png.mpegs.json'), await getBytes(`/v1/media/${output}/bundle`));
  writeFileSync(join(WORK, 'keys.json'), await getBytes('/v1/keys'));
  writeFileSync(join(WORK, 'flow.json'), JSON.stringify({ original, output, device, job_seconds: jobSeconds, verify_ms: verifyMs }, null, 2));
  await close();
}

// ---------------------------------------------------------------- files

/** Chooses files on /verify and verifies; returns the outcome and the report JSON. */
async function verifyFiles(page, files) {
  for (const [input, path] of Object.entries(files)) await page.setInputFiles(`#${input}`, path);
  await page.evaluate(() => {
    const r = document.getElementById('verify-result');
    delete r.dataset.verifyStatus;
  });
  await page.click('#verify-button');
  return outcome(page);
}

/** A throwaway static file server for `dir` (no API behind it). */
function staticServer(dir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json' };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = join(dir, path === '/' ? 'verify.html' : path);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

async function files() {
  need('MPEGS_URL', BASE);
  need('MPEGS_WORK', WORK);
  const w = (f) => join(WORK, f);
  const { page, problems, close } = await launch();

  await page.goto(`${BASE}/verify`);
  const valid = await verifyFiles(page, { image: w('out.png'), bundle: w('out.png.mpegs.json') });
  check(valid.status === 'valid', `/verify on the output: ${valid.text}`);
  await shot(page, 'verify-valid');

  const pixel = await verifyFiles(page, { image: w('tampered.png'), bundle: w('out.png.mpegs.json') });
  check(pixel.status === 'invalid' && !pixel.error, `one changed pixel: ${pixel.text}`);
  const failedPixel = pixel.checks.filter((c) => c.status === 'fail');
  check(failedPixel.length === 1 && /pixels match/i.test(failedPixel[0].label) && /do not match/.test(failedPixel[0].reason), `one changed pixel failed at ${JSON.stringify(pixel.checks)}`);
  await shot(page, 'verify-invalid-pixel');

  const proof = await verifyFiles(page, { image: w('out.png'), bundle: w('swapped.png.mpegs.json') });
  check(proof.status === 'invalid' && !proof.error, `swapped proofs: ${proof.text}`);
  const failedProof = proof.checks.filter((c) => c.status === 'fail');
  check(failedProof.length === 1 && /^Step 2: crop/.test(failedProof[0].label) && /proof does not verify/.test(failedProof[0].reason), `swapped proofs failed at ${JSON.stringify(proof.checks)}`);
  check(proof.checks.slice(0, 3).every((c) => c.status === 'pass') && proof.checks[4].status === 'skip', `checks before and after the failing step: ${JSON.stringify(proof.checks)}`);
  await shot(page, 'verify-invalid-proof');
  check(problems.length === 0, `the pages reported errors:\n${problems.join('\n')}`);
  await close();

  // The static page: dist copied into a folder with keys.json beside it, served
  // by a plain file server; every request elsewhere is refused.
  const dir = mkdtempSync(join(tmpdir(), 'mpegs-static-'));
  cpSync(DIST, dir, { recursive: true });
  cpSync(w('keys.json'), join(dir, 'keys.json'));
  const server = await staticServer(dir);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const s = await launch();
  const elsewhere = [];
  await s.page.route('**/*', (route) => {
    if (route.request().url().startsWith(origin)) return route.continue();
    elsewhere.push(route.request().url());
    return route.abort();
  });
  await s.page.goto(`${origin}/verify.html`);
  const stat = await verifyFiles(s.page, { image: w('out.png'), bundle: w('out.png.mpegs.json') });
  check(stat.status === 'valid', `the static page: ${stat.text}`);
  const source = await s.page.textContent('#keys');
  check(/keys\.json beside this page/.test(source), `the static page took its keys from: ${source}`);
  await shot(s.page, 'verify-static');
  // A key-set file the reader chooses wins over keys.json: with no keys in it, nothing verifies.
  writeFileSync(w('empty-keys.json'), JSON.stringify({ version: 1, keys: [] }));
  const none = await verifyFiles(s.page, { keyset: w('empty-keys.json') });
  check(none.status === 'invalid' && /no verifying key/.test(none.text), `with an empty key set: ${none.text}`);
  check(elsewhere.length === 0, `the static page requested other origins: ${elsewhere}`);
  check(s.problems.filter((p) => !/404/.test(p)).length === 0, `the static page reported errors:\n${s.problems.join('\n')}`);
  await s.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });

  // The WASM verifier's reports, for the Rust test to compare with `mpegs verify --json`.
  const reports = { valid: valid.report, pixel: pixel.report, proof: proof.report, static: stat.report };
  for (const [k, v] of Object.entries(reports)) check(v, `no report JSON shown for ${k}`);
  writeFileSync(w('browser-reports.json'), JSON.stringify(Object.fromEntries(Object.entries(reports).map(([k, v]) => [k, JSON.parse(v)])), null, 2));
}

// ---------------------------------------------------------------- bench

async function bench(image, bundle, keys, runs = 5) {
  check(image && bundle && keys, 'usage: browser.mjs bench IMAGE BUNDLE KEYS [RUNS]');
  const dir = mkdtempSync(join(tmpdir(), 'mpegs-bench-'));
  cpSync(DIST, dir, { recursive: true });
  cpSync(keys, join(dir, 'keys.json'));
  const server = await staticServer(dir);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const { page, close } = await launch();
  await page.goto(`${origin}/verify.html`);
  const times = [];
  for (let i = 0; i < Number(runs); i++) {
    const r = await verifyFiles(page, { image, bundle });
    check(r.status === 'valid', `bench run ${i}: ${r.text}`);
    const ms = Number((await page.textContent('#verify-stage')).match(/Done in ([\d.]+) s/)[1]) * 1000;
    times.push(ms);
  }
  await close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
  const sorted = [...times].sort((a, b) => a - b);
  console.log(JSON.stringify({ runs: times.length, ms: times, median_ms: sorted[Math.floor(sorted.length / 2)], min_ms: sorted[0] }));
}

// ---------------------------------------------------------------- chain

async function chainPhase() {
  need('MPEGS_URL', BASE);
  need('MPEGS_WORK', WORK);
  const flow = JSON.parse(readFileSync(join(WORK, 'flow.json'), 'utf8'));
  const { page, problems, close } = await launch();
  await page.goto(`${BASE}/m/${flow.output}`);
  await page.waitForSelector('#chain-records li', { timeout: 60000 });
  const badges = await page.$$eval('.chain-record', (es) => es.map((e) => ({
    commitment: e.getAttribute('data-commitment'), kind: e.getAttribute('data-kind'), revoked: e.getAttribute('data-revoked'),
  })));
  const badge = (c) => badges.find((b) => b.commitment === c);
  check(badge(flow.output)?.kind === 'edit' && badge(flow.output)?.revoked === 'false', `no edit badge on the output: ${JSON.stringify(badges)}`);
  check(badge(flow.original)?.kind === 'original', `no original badge on the capture: ${JSON.stringify(badges)}`);
  check(badges.length === 2, `records badges on intermediates? ${JSON.stringify(badges)}`);
  const listed = await page.$$eval('#chain-records li', (es) => es.map((e) => e.textContent));
  check(listed.length === 2 && listed.some((t) => /24 proofs verified on-chain/.test(t)), `records as text: ${JSON.stringify(listed)}`);
  await shot(page, 'item-chain');
  check(problems.length === 0, `the page reported errors: ${problems.join('; ')}`);
  await close();
  console.log(`chain records shown: ${listed.join(' | ')}`);
}

// ---------------------------------------------------------------- corpus

async function corpus(dir) {
  check(dir && existsSync(join(dir, 'cases.json')), 'usage: browser.mjs corpus CORPUS (with CORPUS/cases.json)');
  const pkg = resolve(here, '../pkg');
  check(existsSync(join(pkg, 'mpegs_wasm_bg.wasm')), `no WASM package at ${pkg}: run ./scripts/build-wasm.sh`);
  // A folder served on loopback: the package, the corpus and an empty page.
  const root = mkdtempSync(join(tmpdir(), 'mpegs-corpus-'));
  cpSync(pkg, join(root, 'pkg'), { recursive: true });
  cpSync(dir, join(root, 'corpus'), { recursive: true });
  writeFileSync(join(root, 'verify.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>mpegs corpus</title>');
  const server = await staticServer(root);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const { page, problems, close } = await launch();
  await page.goto(`${origin}/`);
  const results = await page.evaluate(async () => {
    const wasm = await import('/pkg/mpegs_wasm.js');
    await wasm.default();
    const get = (name) => fetch(`/corpus/${name}`);
    const cases = await (await get('cases.json')).json();
    const out = [];
    for (const c of cases) {
      const image = new Uint8Array(await (await get(c.image)).arrayBuffer());
      const bundle = await (await get(c.bundle)).text();
      const keys = await (await get(c.keys)).text();
      const secret = c.secret ? await (await get(c.secret)).text() : undefined;
      const start = performance.now();
      try {
        out.push({ name: c.name, report: wasm.verify(image, bundle, keys, secret), ms: performance.now() - start });
      } catch (e) {
        out.push({ name: c.name, error: e instanceof Error ? e.message : `a non-Error: ${e}` });
      }
    }
    return out;
  });
  await close();
  server.close();
  rmSync(root, { recursive: true, force: true });
  const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
  check(results.length === cases.length, `${results.length} results for ${cases.length} cases`);
  cases.forEach((c, i) => {
    const r = results[i];
    if (c.error) {
      check(r.error !== undefined && r.error.includes(c.error), `${c.name}: expected an Error with "${c.error}", got ${JSON.stringify(r)}`);
    } else {
      const expected = readFileSync(join(dir, c.expected), 'utf8');
      check(r.report === expected, `${c.name}: the browser's report differs from the native one\n--- browser\n${r.report ?? r.error}\n--- native\n${expected}`);
    }
    console.log(JSON.stringify({ name: c.name, ok: true, ms: r.ms === undefined ? null : Number(r.ms.toFixed(1)) }));
  });
  check(problems.length === 0, `the page reported errors: ${problems.join('; ')}`);
}

const [mode, ...rest] = process.argv.slice(2);
const modes = { flow, files, chain: chainPhase, bench, corpus };
check(modes[mode], `usage: browser.mjs flow|files|chain|bench|corpus …`);
await modes[mode](...rest);
