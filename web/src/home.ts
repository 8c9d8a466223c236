// `/`: recent items, and search by commitment (prefix) or device address.
import { byId, el, getJson, short, utc, type MediaItem } from './common';

const list = byId<HTMLUListElement>('items');
const status = byId('items-status');
const heading = byId('items-h');
const input = byId<HTMLInputElement>('q');

function card(item: MediaItem) {
  const picture = item.published
    ? el('img', { src: `/v1/media/${item.commitment}/image`, alt: `${item.kind === 'edit' ? 'Edited picture' : 'Published original'} ${short(item.commitment)}`, width: String(item.width), height: String(item.height), loading: 'lazy' })
    : el('div', { class: 'private-thumb', role: 'img', 'aria-label': 'Private original: its pixels are not published' }, 'private original');
  const steps = item.steps.map((s) => s.filter.split('=')[0]).join(' → ');
  return el('li', { class: 'card' },
    el('a', { href: `/m/${item.commitment}`, class: 'card-link' },
      el('div', { class: 'thumb' }, picture),
      el('div', { class: 'card-text' },
        el('strong', {}, item.kind === 'edit' ? `Edit: ${steps}` : 'Original capture'),
        el('code', {}, short(item.commitment)),
        el('span', {}, `${item.width}×${item.height} ${item.format}`),
        item.device ? el('span', {}, `device ${short(item.device, 4)}`) : null,
        el('span', { class: 'muted' }, `stored ${utc(Math.floor(item.created_at / 1000))}`))));
}

async function show(query: string) {
  status.textContent = 'Loading…';
  let path = '/v1/media?limit=48';
  heading.textContent = 'Recent items';
  const q = query.trim().toLowerCase();
  if (q) {
    if (/^0x[0-9a-f]{40}$/.test(q)) {
      path = `/v1/media?limit=48&device=${q}`;
      heading.textContent = `Items from device ${short(q, 4)}`;
    } else if (/^0x[0-9a-f]{1,64}$/.test(q)) {
      path = `/v1/media?limit=48&commitment=${q}`;
      heading.textContent = `Items whose commitment starts with ${short(q)}`;
    } else {
      status.textContent = 'Not a commitment or a device address: enter 0x followed by hex digits.';
      list.replaceChildren();
      return;
    }
  }
  try {
    const { items } = await getJson<{ items: MediaItem[] }>(path);
    list.replaceChildren(...items.map(card));
    status.textContent = items.length ? `${items.length} item${items.length === 1 ? '' : 's'}.` : q ? 'No item matches.' : 'No items yet: capture one, or upload with the API (docs/service.md).';
  } catch (e) {
    status.textContent = `Could not load the items: ${(e as Error).message}`;
  }
}

byId<HTMLFormElement>('search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = input.value.trim();
  const url = new URL(location.href);
  if (q) url.searchParams.set('q', q);
  else url.searchParams.delete('q');
  history.replaceState(null, '', url);
  void show(q);
});

const initial = new URLSearchParams(location.search).get('q') ?? '';
input.value = initial;
void show(initial);
