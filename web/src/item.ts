// `/m/{commitment}`: the picture, its provenance graph, and verification in
// this browser against the key set this server serves (shown by hash).
import { ApiError, byId, el, getJson, isCommitment, plural, request, short, utc, type Graph, type JobStatus, type MediaItem } from './common';
import { drawGraph } from './graph';
import { pinnedKeys, runVerification, sha256, showKeys } from './report';
import { keySetInfo } from './wasm';

const commitment = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
const loadStatus = byId('load-status');
const button = byId<HTMLButtonElement>('verify-button');
const result = byId('verify-result');
byId('commitment').textContent = commitment;

function fact(name: string, value: Node | string) {
  return [el('dt', {}, name), el('dd', {}, value)];
}

function showItem(item: MediaItem) {
  document.title = `mpegs: ${item.kind === 'edit' ? 'edited item' : 'original'} ${short(item.commitment)}`;
  const figure = byId('picture');
  if (item.published) {
    figure.replaceChildren(
      el('img', { src: `/v1/media/${item.commitment}/image`, alt: `The ${item.kind === 'edit' ? 'edited' : 'published'} picture, ${item.width}×${item.height} ${item.format}`, width: String(item.width), height: String(item.height) }),
      el('figcaption', {}, el('a', { href: `/v1/media/${item.commitment}/image`, download: `${item.commitment.slice(0, 12)}.png` }, 'Download the picture'), ' · ',
        el('a', { href: `/v1/media/${item.commitment}/bundle`, download: `${item.commitment.slice(0, 12)}.png.mpegs.json` }, 'its bundle')));
  } else {
    figure.replaceChildren(
      el('div', { class: 'private-thumb large', role: 'img', 'aria-label': 'Private original: its pixels are not published' }, 'private original'),
      el('figcaption', {}, 'Its commitment hides its pixels; they are not published. Its edits are, and verifying one checks this original’s signature too. ',
        el('a', { href: `/v1/media/${item.commitment}/bundle` }, 'Its bundle')));
  }
  const facts = byId('facts');
  facts.replaceChildren(
    ...fact('Kind', item.kind === 'edit' ? 'an edit of another item' : 'an original capture'),
    ...fact('Picture', `${item.width}×${item.height} ${item.format}, tiles of ${item.tile}`),
    ...(item.device ? fact('Device', el('a', { href: `/?q=${item.device}` }, item.device)) : []),
    ...(item.captured_at ? fact('Captured', utc(item.captured_at)) : []),
    ...(item.parent ? fact('Parent', el('a', { href: `/m/${item.parent}` }, short(item.parent))) : []),
    ...fact('Checked by the server', `valid (${plural(item.verification.proofs_verified, 'proof')}) on ${utc(Math.floor(item.verification.verified_at / 1000))}`),
  );
}

function showJobs(jobs: JobStatus[]) {
  const target = byId('jobs');
  if (!jobs.length) {
    target.replaceChildren();
    return;
  }
  target.replaceChildren(el('h3', {}, 'Edits not finished'), el('ul', {}, ...jobs.map((j) =>
    el('li', {}, el('code', {}, j.vf), ` on ${short(j.input)}: ${j.status}`,
      j.status === 'failed' ? ` — ${j.error ?? ''}` : ` (${j.progress.done} of ${j.progress.total} tile proofs)`))));
}

let keySetText: string | null = null;

async function loadKeys(bundleText: string) {
  const target = byId('keys');
  try {
    keySetText = await (await request('/v1/keys')).text();
    const keys = await keySetInfo(keySetText);
    const digest = await sha256(keySetText);
    showKeys(target, keys, pinnedKeys(JSON.parse(bundleText)), `served by this server at /v1/keys${digest ? `, key set ${digest}` : ''}`);
  } catch (e) {
    keySetText = null;
    target.replaceChildren(el('p', { class: 'warn' }, `Could not load the key set: ${(e as Error).message}`));
  }
}

async function main() {
  if (!isCommitment(commitment)) {
    loadStatus.textContent = 'This address does not name a commitment (0x and 64 lowercase hex digits).';
    return;
  }
  let item: MediaItem;
  try {
    item = await getJson<MediaItem>(`/v1/media/${commitment}`);
  } catch (e) {
    loadStatus.textContent = e instanceof ApiError && e.status === 404 ? 'No such item on this server.' : `Could not load the item: ${(e as Error).message}`;
    return;
  }
  showItem(item);
  loadStatus.textContent = '';
  const [graph, bundleText] = await Promise.all([
    getJson<Graph>(`/v1/media/${commitment}/graph`).catch((e: Error) => e),
    request(`/v1/media/${commitment}/bundle`).then((r) => r.text()),
  ]);
  if (graph instanceof Error) {
    byId('graph').replaceChildren(el('p', { class: 'warn' }, `Could not load the graph: ${graph.message}`));
  } else {
    drawGraph(byId('graph'), graph, commitment);
    showJobs(graph.jobs);
  }
  await loadKeys(bundleText);
  button.disabled = false;
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      if (!item.published) {
        result.dataset.verifyStatus = 'invalid';
        result.className = 'result invalid';
        result.replaceChildren(el('p', { class: 'summary' }, 'This original is private: its pixels are not published, so they cannot be checked against its commitment here. Its owner verifies it with the secret file on the verify page; verifying any of its published edits checks its device signature.'));
        return;
      }
      if (keySetText === null) await loadKeys(bundleText);
      if (keySetText === null) return;
      const image = new Uint8Array(await (await request(`/v1/media/${commitment}/image`)).arrayBuffer());
      await runVerification({
        image,
        bundle: bundleText,
        keySet: keySetText,
        progress: byId<HTMLProgressElement>('verify-progress'),
        stage: byId('verify-stage'),
        result,
      });
    } catch (e) {
      result.dataset.verifyStatus = 'invalid';
      result.replaceChildren(el('p', {}, `Could not verify: ${(e as Error).message}`));
    } finally {
      button.disabled = false;
    }
  });
}

void main();
