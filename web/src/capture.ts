// `/capture`: camera → snapshot → commitment and EIP-712 signature in WASM with
// a device key sealed in IndexedDB under a non-extractable WebCrypto key → upload as an original → an edit job
// (redaction box, crop, grayscale) proven by the server, followed live.
import { ApiError, byId, el, events, request, short, TOKEN_KEY } from './common';
import { wasm } from './wasm';

const $ = {
  width: byId<HTMLInputElement>('width'),
  height: byId<HTMLInputElement>('height'),
  tile: byId<HTMLSelectElement>('tile'),
  deviceId: byId<HTMLInputElement>('device-id'),
  start: byId<HTMLButtonElement>('start-camera'),
  snap: byId<HTMLButtonElement>('snapshot'),
  video: byId<HTMLVideoElement>('video'),
  cameraStatus: byId('camera-status'),
  address: byId('device-address'),
  token: byId<HTMLInputElement>('token'),
  upload: byId<HTMLButtonElement>('upload'),
  uploadStatus: byId('upload-status'),
  downloads: byId('downloads'),
  canvas: byId<HTMLCanvasElement>('snap'),
  redactOn: byId<HTMLInputElement>('redact-on'),
  rx: byId<HTMLInputElement>('rx'),
  ry: byId<HTMLInputElement>('ry'),
  rw: byId<HTMLInputElement>('rw'),
  rh: byId<HTMLInputElement>('rh'),
  cropOn: byId<HTMLInputElement>('crop-on'),
  cx: byId<HTMLInputElement>('cx'),
  cy: byId<HTMLInputElement>('cy'),
  cw: byId<HTMLInputElement>('cw'),
  ch: byId<HTMLInputElement>('ch'),
  grayOn: byId<HTMLInputElement>('gray-on'),
  vf: byId<HTMLOutputElement>('vf'),
  submit: byId<HTMLButtonElement>('submit-job'),
  jobProgress: byId<HTMLProgressElement>('job-progress'),
  jobStatus: byId('job-status'),
};


// ---- the device key, in IndexedDB, sealed under a non-extractable key ----
//
// The device key is the JSON `mpegs keygen` writes (secp256k1, which WebCrypto
// cannot sign with, so the WASM module needs its bytes while it signs). At rest
// it is kept only as AES-256-GCM ciphertext under a WebCrypto key made with
// `extractable: false`: IndexedDB stores that CryptoKey as an opaque handle, so
// a copy of the browser profile, a backup or a script that reads the database
// finds no key material it can use elsewhere. Code running in this origin can
// still ask the browser to decrypt (as this page does): the wrap protects the
// key at rest, not against a compromised page.

const DB_NAME = 'mpegs';
const STORE = 'device';
/** The AEAD's associated data: a sealed record opens only as this kind of value. */
const SEAL_AD = new TextEncoder().encode('mpegs.device-key.v1');

function idb<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction(STORE, mode);
      const req = f(tx.objectStore(STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      tx.oncomplete = () => open.result.close();
    };
  });
}

interface SealedKey {
  iv: Uint8Array;
  ciphertext: ArrayBuffer;
}

/** The page's wrapping key: AES-GCM, non-extractable, made once and kept in IndexedDB. */
async function wrappingKey(): Promise<CryptoKey> {
  const stored = await idb<CryptoKey | undefined>('readonly', (s) => s.get('wrap') as IDBRequest<CryptoKey | undefined>);
  if (stored instanceof CryptoKey) return stored;
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  await idb('readwrite', (s) => s.put(key, 'wrap'));
  return key;
}

async function seal(wrap: CryptoKey, json: string): Promise<SealedKey> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: SEAL_AD }, wrap, new TextEncoder().encode(json));
  return { iv, ciphertext };
}

async function unseal(wrap: CryptoKey, sealed: SealedKey): Promise<string> {
  try {
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(sealed.iv), additionalData: SEAL_AD }, wrap, sealed.ciphertext);
    return new TextDecoder().decode(plain);
  } catch {
    throw new Error('the stored device key does not open under this browser\'s wrapping key (altered or copied from another profile)');
  }
}

/**
 * The browser's device key, made on first use and sealed at rest. A plaintext
 * key left by an earlier version of this page (`key`) is sealed and deleted.
 */
function deviceKey(): Promise<string> {
  // One load per page: two first-visit calls racing must not make two keys.
  devicePromise ??= loadDeviceKey();
  return devicePromise;
}
let devicePromise: Promise<string> | null = null;

async function loadDeviceKey(): Promise<string> {
  const wrap = await wrappingKey();
  const sealed = await idb<SealedKey | undefined>('readonly', (s) => s.get('sealed-key') as IDBRequest<SealedKey | undefined>);
  if (sealed) return unseal(wrap, sealed);
  const legacy = await idb<unknown>('readonly', (s) => s.get('key'));
  const key = typeof legacy === 'string' ? legacy : await wasm.call<string>('deviceKey', []);
  const record = await seal(wrap, key);
  // One transaction: the sealed copy is stored and the plaintext one deleted together.
  await idb('readwrite', (s) => {
    s.put(record, 'sealed-key');
    return s.delete('key');
  });
  return key;
}

// ---- camera and snapshot ----

interface Snapshot {
  pixels: Uint8Array;
  width: number;
  height: number;
  capturedAt: number;
}
let snapshot: Snapshot | null = null;
let original: { commitment: string; width: number; height: number } | null = null;

function size(input: HTMLInputElement, max: number): number {
  const v = Math.round(Number(input.value));
  return Number.isFinite(v) ? Math.min(Math.max(v, 8), max) : 8;
}

$.start.addEventListener('click', async () => {
  $.cameraStatus.textContent = 'Asking for the camera…';
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    $.video.srcObject = stream;
    await $.video.play();
    $.snap.disabled = false;
    $.cameraStatus.textContent = 'Camera on. Take a snapshot when ready.';
  } catch (e) {
    $.cameraStatus.textContent = `No camera: ${(e as Error).message}`;
  }
});

$.snap.addEventListener('click', () => {
  const w = size($.width, 1280);
  const h = size($.height, 720);
  const c = $.canvas;
  c.width = w;
  c.height = h;
  const ctx = c.getContext('2d', { willReadFrequently: true })!;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage($.video, 0, 0, w, h);
  const data = ctx.getImageData(0, 0, w, h).data;
  // The canvas is opaque: force alpha to 255 so the pixels are plain RGB.
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  snapshot = { pixels: new Uint8Array(data.buffer.slice(0)), width: w, height: h, capturedAt: Math.floor(Date.now() / 1000) };
  original = null;
  $.submit.disabled = true;
  $.upload.disabled = false;
  // Sensible defaults for the edit: a box near the top-left, a centred crop.
  setBox({ x: Math.floor(w / 8), y: Math.floor(h / 8), w: Math.max(1, Math.floor(w / 4)), h: Math.max(1, Math.floor(h / 4)) });
  $.cx.value = String(Math.floor(w / 10));
  $.cy.value = String(Math.floor(h / 10));
  $.cw.value = String(Math.max(1, w - 2 * Math.floor(w / 10)));
  $.ch.value = String(Math.max(1, h - 2 * Math.floor(h / 10)));
  redraw();
  $.cameraStatus.textContent = `Snapshot taken: ${w}×${h}.`;
});

// ---- attest and upload ----

$.token.value = localStorage.getItem(TOKEN_KEY) ?? '';
$.token.addEventListener('change', () => localStorage.setItem(TOKEN_KEY, $.token.value.trim()));

function authHeaders(): HeadersInit {
  const t = $.token.value.trim();
  localStorage.setItem(TOKEN_KEY, t);
  return t ? { Authorization: `Bearer ${t}` } : {};
}

function download(name: string, data: BlobPart, type: string) {
  return el('a', { href: URL.createObjectURL(new Blob([data], { type })), download: name }, name);
}

$.upload.addEventListener('click', async () => {
  if (!snapshot) return;
  $.upload.disabled = true;
  $.uploadStatus.textContent = 'Committing to the pixels and signing in this browser…';
  try {
    const key = await deviceKey();
    const tile = Number($.tile.value);
    const a = await wasm.call<{ png: Uint8Array; bundle: string; secret: string }>('attest', [
      snapshot.pixels, snapshot.width, snapshot.height, 4, key, $.deviceId.value || 'browser-camera', snapshot.capturedAt, tile,
    ]);
    $.downloads.replaceChildren('Keep your copy: ', download('capture.png', a.png as BlobPart, 'image/png'), ', ',
      download('capture.png.mpegs.json', a.bundle, 'application/json'), ', ',
      download('capture.png.mpegs.secret.json', a.secret, 'application/json'), ' (the secret opens the commitment: keep it private).');
    $.uploadStatus.textContent = 'Signed. Uploading…';
    const form = new FormData();
    form.append('image', new Blob([a.png as BlobPart], { type: 'image/png' }), 'capture.png');
    form.append('bundle', new Blob([a.bundle], { type: 'application/json' }), 'capture.png.mpegs.json');
    form.append('secret', new Blob([a.secret], { type: 'application/json' }), 'capture.png.mpegs.secret.json');
    const r = await request('/v1/media', { method: 'POST', body: form, headers: authHeaders() });
    const body = (await r.json()) as { commitment: string; width: number; height: number };
    original = body;
    $.uploadStatus.replaceChildren('Uploaded and verified by the server: ',
      el('a', { href: `/m/${body.commitment}`, id: 'original-link' }, short(body.commitment)), '.');
    $.submit.disabled = false;
    updateChain();
  } catch (e) {
    const why = e instanceof ApiError && e.status === 401 ? `${e.message} — paste a token from \`mpegs serve token create\`` : (e as Error).message;
    $.uploadStatus.textContent = `Failed: ${why}`;
  } finally {
    $.upload.disabled = !snapshot;
  }
});

// ---- the edit: a redaction box drawn with the mouse, crop, grayscale ----

type Box = { x: number; y: number; w: number; h: number };

function num(i: HTMLInputElement): number {
  const v = Math.round(Number(i.value));
  return Number.isFinite(v) ? v : 0;
}

function box(): Box {
  return { x: num($.rx), y: num($.ry), w: num($.rw), h: num($.rh) };
}

function setBox(b: Box) {
  $.rx.value = String(b.x);
  $.ry.value = String(b.y);
  $.rw.value = String(b.w);
  $.rh.value = String(b.h);
}

/** The filter chain, or the reason it is not valid for this snapshot. */
function chain(): { vf: string } | { error: string } {
  if (!snapshot) return { error: 'take a snapshot first' };
  const W = snapshot.width;
  const H = snapshot.height;
  const parts: string[] = [];
  if ($.redactOn.checked) {
    const b = box();
    if (b.w < 1 || b.h < 1 || b.x < 0 || b.y < 0 || b.x + b.w > W || b.y + b.h > H) return { error: `the redaction box must lie inside the ${W}×${H} picture` };
    parts.push(`drawbox=x=${b.x}:y=${b.y}:w=${b.w}:h=${b.h}:color=black:t=fill`);
  }
  if ($.cropOn.checked) {
    const [x, y, w, h] = [num($.cx), num($.cy), num($.cw), num($.ch)];
    if (w < 1 || h < 1 || x < 0 || y < 0 || x + w > W || y + h > H) return { error: `the crop must lie inside the ${W}×${H} picture` };
    parts.push(`crop=${w}:${h}:${x}:${y}`);
  }
  if ($.grayOn.checked) parts.push('format=gray');
  if (!parts.length) return { error: 'choose at least one filter' };
  return { vf: parts.join(',') };
}

function updateChain() {
  const c = chain();
  $.vf.value = 'vf' in c ? c.vf : `— (${c.error})`;
  $.submit.disabled = !original || !('vf' in c);
}

function redraw() {
  if (!snapshot) return;
  const ctx = $.canvas.getContext('2d')!;
  ctx.putImageData(new ImageData(new Uint8ClampedArray(snapshot.pixels), snapshot.width, snapshot.height), 0, 0);
  if ($.cropOn.checked) {
    ctx.strokeStyle = '#ffd400';
    ctx.lineWidth = 1;
    ctx.setLineDash([3, 2]);
    ctx.strokeRect(num($.cx) + 0.5, num($.cy) + 0.5, num($.cw) - 1, num($.ch) - 1);
    ctx.setLineDash([]);
  }
  if ($.redactOn.checked) {
    const b = box();
    ctx.fillStyle = 'rgba(0,0,0,0.85)';
    ctx.fillRect(b.x, b.y, b.w, b.h);
  }
  updateChain();
}

for (const i of [$.rx, $.ry, $.rw, $.rh, $.cx, $.cy, $.cw, $.ch, $.redactOn, $.cropOn, $.grayOn]) {
  i.addEventListener('input', redraw);
}

/** Canvas pixel under a pointer event. */
function at(ev: PointerEvent): { x: number; y: number } {
  const r = $.canvas.getBoundingClientRect();
  const x = Math.floor(((ev.clientX - r.left) / r.width) * $.canvas.width);
  const y = Math.floor(((ev.clientY - r.top) / r.height) * $.canvas.height);
  return { x: Math.min(Math.max(x, 0), $.canvas.width), y: Math.min(Math.max(y, 0), $.canvas.height) };
}

let dragFrom: { x: number; y: number } | null = null;
$.canvas.addEventListener('pointerdown', (ev) => {
  if (!snapshot) return;
  dragFrom = at(ev);
  $.canvas.setPointerCapture(ev.pointerId);
  $.redactOn.checked = true;
});
$.canvas.addEventListener('pointermove', (ev) => {
  if (!dragFrom) return;
  const p = at(ev);
  setBox({ x: Math.min(dragFrom.x, p.x), y: Math.min(dragFrom.y, p.y), w: Math.max(1, Math.abs(p.x - dragFrom.x)), h: Math.max(1, Math.abs(p.y - dragFrom.y)) });
  redraw();
});
$.canvas.addEventListener('pointerup', () => {
  dragFrom = null;
  redraw();
});

// ---- the job, followed through its event stream ----

function showJob(job: { status: string; progress: { done: number; total: number } }) {
  $.jobProgress.hidden = false;
  $.jobProgress.max = Math.max(job.progress.total, 1);
  $.jobProgress.value = job.progress.done;
  const doing = job.status === 'queued' ? 'queued' : job.progress.done === 0 ? 'running (the first job of a circuit also generates its keys)' : 'proving';
  $.jobStatus.textContent = `${doing}: ${job.progress.done} of ${job.progress.total} tile proofs`;
}

$.submit.addEventListener('click', async () => {
  const c = chain();
  if (!original || !('vf' in c)) return;
  $.submit.disabled = true;
  $.jobStatus.textContent = 'Submitting…';
  let submitted = false;
  try {
    const r = await request('/v1/jobs', {
      method: 'POST',
      headers: { ...authHeaders(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ input: original.commitment, vf: c.vf }),
    });
    const job = (await r.json()) as { id: string; status: string; progress: { done: number; total: number } };
    submitted = true;
    showJob(job);
    let ended = false;
    await events(`/v1/jobs/${job.id}/events`, authHeaders(), (name, data) => {
      const ev = JSON.parse(data) as { status: string; output?: string; error?: string; progress: { done: number; total: number } };
      if (name === 'progress') showJob(ev);
      else if (name === 'done') {
        ended = true;
        showJob({ status: 'done', progress: ev.progress });
        $.jobStatus.replaceChildren(`Done: ${ev.progress.total} tile proofs, verified by the server. `,
          el('a', { href: `/m/${ev.output}`, id: 'edited-link' }, `See the edited item ${short(ev.output ?? '')}`), '.');
      } else if (name === 'failed' || name === 'cancelled') {
        ended = true;
        $.jobStatus.textContent = `The job ${name === 'failed' ? 'failed' : 'was cancelled'}: ${ev.error ?? ''}`;
      }
    });
    if (!ended) $.jobStatus.textContent += ' (the event stream ended early; reload the item page)';
    $.submit.disabled = false;
  } catch (e) {
    $.jobStatus.textContent = submitted
      ? `Lost the job's event stream (${(e as Error).message}); reload the item page`
      : `Could not submit: ${(e as Error).message}`;
    $.submit.disabled = false;
  }
});

// ---- start ----

deviceKey()
  .then((key) => wasm.call<string>('deviceAddress', [key]))
  .then((address) => {
    $.address.textContent = address;
  })
  .catch((e: Error) => {
    $.address.textContent = `unavailable: ${e.message}`;
  });
updateChain();
