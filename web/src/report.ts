// Running the in-browser verification and showing its report: the pixels
// against the commitment, the device signature, then every edit step, each
// passed, failed (with the verifier's reason) or not reached.
import { el, filterName, plural, short, utc } from './common';
import { verify, wasm, type KeyInfo } from './wasm';

/** The report of `mpegs verify --json` (docs/bundle.md §10). */
export interface Report {
  valid: boolean;
  reason?: string;
  media: { format: string; width: number; height: number; tile: number; commitment: string };
  origin: { device: string; device_id: string; captured_at: number } | null;
  steps: { filter: string; tiles: number; circuits: number }[];
  proofs_verified: number;
}

interface BundleStep {
  filter: string;
  tiles: unknown[];
  circuits: Record<string, string>;
}
interface BundleJson {
  media?: { seed?: string };
  attestation?: unknown;
  edit?: { steps: BundleStep[]; parent: BundleJson };
}

/** Every step of a bundle's history, oldest first (as the verifier checks them). */
export function historySteps(bundle: BundleJson): BundleStep[] {
  const chain: BundleJson[] = [];
  for (let b: BundleJson | undefined = bundle; b; b = b.edit?.parent) chain.push(b);
  return chain.reverse().flatMap((b) => b.edit?.steps ?? []);
}

/** Verifying keys a bundle pins, by circuit id, across its history. */
export function pinnedKeys(bundle: BundleJson): Map<string, string> {
  const pins = new Map<string, string>();
  for (const s of historySteps(bundle)) {
    for (const [id, hash] of Object.entries(s.circuits ?? {})) pins.set(id, hash);
  }
  return pins;
}

type Row = { label: string; detail: string; status: 'pass' | 'fail' | 'skip'; reason?: string };

/** Which check failed, from the report and the last stage the verifier reached. */
export function rows(report: Report, bundle: BundleJson, lastStage: string): Row[] {
  const steps = historySteps(bundle);
  const failed = !report.valid;
  const pixelsFailed = failed && lastStage === 'media commitment';
  const signatureFailed = failed && !pixelsFailed && report.origin === null;
  const out: Row[] = [];
  out.push({
    label: 'Pixels match the commitment',
    detail: `${report.media.width}×${report.media.height} ${report.media.format}, commitment ${short(report.media.commitment)}`,
    status: pixelsFailed ? 'fail' : 'pass',
    reason: pixelsFailed ? report.reason : undefined,
  });
  out.push({
    label: 'Device signature',
    detail: report.origin
      ? `signed by ${report.origin.device} (“${report.origin.device_id}”) at ${utc(report.origin.captured_at)}`
      : 'the original capture’s EIP-712 signature',
    status: pixelsFailed ? 'skip' : signatureFailed ? 'fail' : 'pass',
    reason: signatureFailed ? report.reason : undefined,
  });
  const passed = report.steps.length;
  steps.forEach((s, i) => {
    let status: Row['status'] = 'pass';
    let reason: string | undefined;
    if (i >= passed) {
      if (failed && !pixelsFailed && !signatureFailed && i === passed) {
        status = 'fail';
        reason = report.reason;
      } else {
        status = failed ? 'skip' : 'pass';
      }
    }
    out.push({
      label: `Step ${i + 1}: ${filterName(s.filter)}`,
      detail: `${s.filter} — ${plural(s.tiles.length, 'tile proof')}, ${plural(Object.keys(s.circuits ?? {}).length, 'circuit')}`,
      status,
      reason,
    });
  });
  return out;
}

const SYMBOL = { pass: '✓', fail: '✗', skip: '–' } as const;
const WORD = { pass: 'passed', fail: 'failed', skip: 'not checked' } as const;

/** Renders the outcome into `#verify-result` (data-verify-status="valid|invalid"). */
export function showReport(target: HTMLElement, report: Report, raw: string, bundle: BundleJson, lastStage: string, ms: number) {
  target.dataset.verifyStatus = report.valid ? 'valid' : 'invalid';
  target.className = `result ${report.valid ? 'valid' : 'invalid'}`;
  const summary = report.valid
    ? `Valid: ${plural(report.proofs_verified, 'proof')} and the device signature verified in this browser (${(ms / 1000).toFixed(2)} s).`
    : `Invalid: ${report.reason ?? 'verification failed'}`;
  const list = el('ol', { class: 'checks' });
  for (const r of rows(report, bundle, lastStage)) {
    list.append(
      el(
        'li',
        { class: `check ${r.status}`, 'data-check': r.status },
        el('span', { class: 'mark', 'aria-hidden': 'true' }, SYMBOL[r.status]),
        el('span', { class: 'visually-hidden' }, `${WORD[r.status]}: `),
        el('strong', {}, r.label, r.status === 'skip' ? el('span', { class: 'muted' }, ' (not checked)') : ''),
        el('span', { class: 'detail' }, r.detail),
        r.reason ? el('span', { class: 'reason' }, r.reason) : null,
      ),
    );
  }
  const json = el('details', { class: 'report-json' },
    el('summary', {}, 'The report (the same JSON as mpegs verify --json)'),
    el('pre', { id: 'verify-report-json' }, JSON.stringify(JSON.parse(raw), null, 2)));
  target.replaceChildren(el('p', { class: 'summary' }, summary), list, json);
}

export function showError(target: HTMLElement, message: string) {
  target.dataset.verifyStatus = 'invalid';
  target.dataset.verifyError = 'true';
  target.className = 'result invalid';
  target.replaceChildren(el('p', { class: 'summary' }, `Could not verify: ${message}`));
}

/** Runs the verifier with a progress bar; shows and returns the report. */
export async function runVerification(opts: {
  image: Uint8Array;
  bundle: string;
  keySet: string;
  secret?: string;
  progress: HTMLProgressElement;
  stage: HTMLElement;
  result: HTMLElement;
}): Promise<Report | null> {
  const { progress, stage, result } = opts;
  delete result.dataset.verifyStatus;
  delete result.dataset.verifyError;
  result.className = 'result';
  result.replaceChildren(el('p', {}, 'Verifying…'));
  progress.hidden = false;
  progress.value = 0;
  progress.removeAttribute('max');
  stage.textContent = 'Loading the verifier…';
  let parsed: BundleJson;
  try {
    parsed = JSON.parse(opts.bundle) as BundleJson;
  } catch (e) {
    showError(result, `the sidecar is not JSON (${(e as Error).message})`);
    progress.hidden = true;
    return null;
  }
  try {
    const out = await verify(opts.image, opts.bundle, opts.keySet, opts.secret, (done, total, s) => {
      progress.max = Math.max(total, 1);
      progress.value = done;
      stage.textContent = `${s} — ${done} of ${total}`;
    });
    const report = JSON.parse(out.report) as Report;
    progress.value = progress.max;
    stage.textContent = `Done in ${(out.ms / 1000).toFixed(2)} s (${wasm.where === 'worker' ? 'in a Web Worker' : 'on the page'}).`;
    showReport(result, report, out.report, parsed, out.lastStage, out.ms);
    return report;
  } catch (e) {
    showError(result, (e as Error).message);
    stage.textContent = '';
    return null;
  } finally {
    if (!result.dataset.verifyStatus) progress.hidden = true;
  }
}

/** Lists the keys of a key set, marking those the bundle pins (and whether their hash matches). */
export function showKeys(target: HTMLElement, keys: KeyInfo[], pins: Map<string, string> | null, source: string) {
  const rowsEl = el('tbody');
  const sorted = [...keys].sort((a, b) => {
    const pa = pins?.has(a.id) ? 0 : 1;
    const pb = pins?.has(b.id) ? 0 : 1;
    return pa - pb || a.id.localeCompare(b.id);
  });
  for (const k of sorted) {
    const pin = pins?.get(k.id);
    const used = pin === undefined ? '' : pin === k.vk_hash ? 'pinned by this bundle' : 'pinned with ANOTHER hash';
    rowsEl.append(
      el('tr', { class: pin ? 'pinned' : '' },
        el('td', {}, el('code', { title: k.id }, shortId(k.id))),
        el('td', {}, el('code', { class: 'hash' }, k.vk_hash)),
        el('td', {}, used)),
    );
  }
  const missing = pins ? [...pins.keys()].filter((id) => !keys.some((k) => k.id === id)) : [];
  target.replaceChildren(
    el('p', {}, `${plural(keys.length, 'verifying key')} trusted — ${source}.`),
    el('table', { class: 'keys' },
      el('caption', { class: 'visually-hidden' }, 'Trusted verifying keys'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'circuit'), el('th', { scope: 'col' }, 'verifying-key hash (SHA-256)'), el('th', { scope: 'col' }, 'this bundle'))),
      rowsEl),
    missing.length
      ? el('p', { class: 'warn' }, `The bundle pins ${plural(missing.length, 'circuit')} this key set does not have: ${missing.map(shortId).join(', ')}. Verification will fail for them.`)
      : '',
  );
}

function shortId(id: string): string {
  const i = id.lastIndexOf('-');
  return i > 0 && id.length - i > 20 ? `${id.slice(0, i + 9)}…` : id;
}

/** SHA-256 of a text, `sha256:<hex>`, where the page may use WebCrypto (else null). */
export async function sha256(text: string): Promise<string | null> {
  if (!globalThis.crypto?.subtle) return null;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return `sha256:${[...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}
