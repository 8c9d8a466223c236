// `/verify`: verify a picture and its sidecar entirely in this browser. Works
// served by `mpegs serve` and from any static folder (then the key set is a
// dropped file or keys.json beside the page).
import { byId, el } from './common';
import { pinnedKeys, runVerification, sha256, showKeys } from './report';
import { keySetInfo } from './wasm';

const inputs = {
  image: byId<HTMLInputElement>('image'),
  bundle: byId<HTMLInputElement>('bundle'),
  secret: byId<HTMLInputElement>('secret'),
  keyset: byId<HTMLInputElement>('keyset'),
};
const dropped: Partial<Record<keyof typeof inputs, File>> = {};
const chosen = byId('chosen');
const result = byId('verify-result');

function file(name: keyof typeof inputs): File | undefined {
  return inputs[name].files?.[0] ?? dropped[name];
}

function describe() {
  const parts = (Object.keys(inputs) as (keyof typeof inputs)[])
    .map((k) => (file(k) ? `${k}: ${file(k)!.name}` : null))
    .filter(Boolean);
  chosen.textContent = parts.length ? `Chosen — ${parts.join('; ')}` : '';
}

/** Sorts dropped files by what they are: picture, sidecar, secret, key set. */
async function sort(files: FileList) {
  for (const f of Array.from(files)) {
    if (f.type.startsWith('image/') || /\.(png|jpe?g)$/i.test(f.name)) {
      dropped.image = f;
      continue;
    }
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(await f.text());
    } catch {
      continue;
    }
    if (json.kind === 'mpegs-media-secret') dropped.secret = f;
    else if (Array.isArray(json.keys)) dropped.keyset = f;
    else if (json.media && json.kind) dropped.bundle = f;
  }
  describe();
}

for (const i of Object.values(inputs)) i.addEventListener('change', describe);
const drop = byId('drop');
drop.addEventListener('dragover', (ev) => {
  ev.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (ev) => {
  ev.preventDefault();
  drop.classList.remove('over');
  if (ev.dataTransfer?.files.length) void sort(ev.dataTransfer.files);
});

/** The key set, from the first source that has one; and where it came from. */
async function keySet(): Promise<{ text: string; source: string } | null> {
  const own = file('keyset');
  if (own) return { text: await own.text(), source: `from your file ${own.name}` };
  for (const [url, source] of [
    ['./v1/keys', 'served by this mpegs server at /v1/keys'],
    ['./keys.json', 'from keys.json beside this page'],
  ] as const) {
    try {
      const r = await fetch(url);
      if (!r.ok) continue;
      const text = await r.text();
      const json = JSON.parse(text);
      if (json && Array.isArray(json.keys)) return { text, source };
    } catch {
      // file:// or no such file: try the next source
    }
  }
  return null;
}

byId<HTMLFormElement>('files').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const button = byId<HTMLButtonElement>('verify-button');
  const image = file('image');
  const bundle = file('bundle');
  if (!image || !bundle) {
    delete result.dataset.verifyStatus;
    result.replaceChildren(el('p', { class: 'warn' }, 'Choose a picture and its sidecar first.'));
    return;
  }
  button.disabled = true;
  try {
    const bundleText = await bundle.text();
    const keys = await keySet();
    const keysTarget = byId('keys');
    if (!keys) {
      keysTarget.replaceChildren(el('p', { class: 'warn' }, 'No key set: choose a key-set file you trust (mpegs serve publishes one at /v1/keys), or put keys.json beside this page.'));
      result.dataset.verifyStatus = 'invalid';
      result.replaceChildren(el('p', { class: 'summary' }, 'Could not verify: no trusted key set.'));
      return;
    }
    try {
      let pins: Map<string, string> | null = null;
      try {
        pins = pinnedKeys(JSON.parse(bundleText));
      } catch {
        pins = null;
      }
      const digest = await sha256(keys.text);
      showKeys(keysTarget, await keySetInfo(keys.text), pins, `${keys.source}${digest ? `, key set ${digest}` : ''}`);
    } catch (e) {
      keysTarget.replaceChildren(el('p', { class: 'warn' }, `The key set is unusable: ${(e as Error).message}`));
    }
    const secret = file('secret');
    await runVerification({
      image: new Uint8Array(await image.arrayBuffer()),
      bundle: bundleText,
      keySet: keys.text,
      secret: secret ? await secret.text() : undefined,
      progress: byId<HTMLProgressElement>('verify-progress'),
      stage: byId('verify-stage'),
      result,
    });
  } finally {
    button.disabled = false;
  }
});
