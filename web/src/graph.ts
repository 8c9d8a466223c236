// The provenance graph as SVG: one column per depth from the original, a box
// per commitment, an arrow per proven step labelled with its filter, tile count
// and proof count. The same facts are also given as a list for screen readers.
import { el, filterName, plural, short, utc, type ChainRecord, type ChainRecords, type Graph, type GraphEdge, type GraphNode } from './common';

const SVG = 'http://www.w3.org/2000/svg';
const COL = 265;
const ROW = 110;
const BOX_W = 150;
const BOX_H = 64;
const PAD = 20;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (Node | string)[]) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

const ROLE = { original: 'original', edit: 'edited item', intermediate: 'intermediate' } as const;

/** Depth of every node: its distance from a node with no incoming edge. */
function layout(g: Graph): Map<string, { col: number; row: number }> {
  const incoming = new Map<string, GraphEdge[]>();
  for (const e of g.edges) incoming.set(e.to, [...(incoming.get(e.to) ?? []), e]);
  const depth = new Map<string, number>();
  const visit = (c: string, guard: number): number => {
    const known = depth.get(c);
    if (known !== undefined) return known;
    if (guard > g.nodes.length) return 0; // a cycle cannot come from bundles; be safe anyway
    const d = Math.max(-1, ...(incoming.get(c) ?? []).map((e) => visit(e.from, guard + 1))) + 1;
    depth.set(c, d);
    return d;
  };
  for (const n of g.nodes) visit(n.commitment, 0);
  const rows = new Map<number, number>();
  const at = new Map<string, { col: number; row: number }>();
  for (const n of g.nodes) {
    const col = depth.get(n.commitment) ?? 0;
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    at.set(n.commitment, { col, row });
  }
  return at;
}

function nodeLabel(n: GraphNode): string {
  const who = n.role === 'original' && n.device ? `, signed by ${n.device}` : '';
  const pub = n.published ? ', published' : n.role === 'intermediate' ? ', pixels never published' : ', private';
  return `${ROLE[n.role]} ${n.commitment}: ${n.width}×${n.height} ${n.format}${who}${pub}`;
}

/** The configured chain's records, when it has any. */
function chainOf(g: Graph): ChainRecords | null {
  return g.chain && 'records' in g.chain ? g.chain : null;
}

/** What a registry record says, in a few words. */
export function recordLabel(r: ChainRecord): string {
  const what = r.kind === 'original'
    ? `original registered, device signature checked on-chain`
    : r.kind === 'edit'
      ? `edit registered, ${plural(r.proofs, 'proof')} verified on-chain`
      : 'anchored (bundle hash only, proofs not verified on-chain)';
  const revoked = r.revoked_at !== null ? `; REVOKED at ${utc(r.revoked_at)}` : '';
  return `${what} at ${utc(r.registered_at)} by ${r.registrant}${revoked}`;
}

export function edgeLabel(e: GraphEdge): string {
  return `${e.filter}: ${plural(e.tiles, 'tile')}, ${plural(e.proofs, 'proof')}, ${plural(e.circuits, 'circuit')}`;
}

/** Draws `g` into `target`, with `focus` (the page's item) highlighted. */
export function drawGraph(target: HTMLElement, g: Graph, focus: string) {
  const at = layout(g);
  const cols = Math.max(1, ...[...at.values()].map((p) => p.col + 1));
  const rows = Math.max(1, ...[...at.values()].map((p) => p.row + 1));
  const width = PAD * 2 + (cols - 1) * COL + BOX_W;
  // Room under the last row for the on-chain badges, when there are any.
  const badges = chainOf(g)?.records.length ? 34 : 0;
  const height = PAD * 2 + (rows - 1) * ROW + BOX_H + 16 + badges;
  const pos = (c: string) => {
    const p = at.get(c) ?? { col: 0, row: 0 };
    return { x: PAD + p.col * COL, y: PAD + 16 + p.row * ROW };
  };
  const title = svg('title', { id: 'graph-title' }, `Provenance of ${short(focus)}`);
  const desc = svg('desc', { id: 'graph-desc' }, `${plural(g.nodes.length, 'commitment')} and ${plural(g.edges.length, 'proven step')}; the list below gives the same in text.`);
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-labelledby': 'graph-title graph-desc',
    class: 'graph',
  }, title, desc);
  root.append(
    svg('defs', {},
      svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }))),
  );
  for (const e of g.edges) {
    const a = pos(e.from);
    const b = pos(e.to);
    const x1 = a.x + BOX_W;
    const y1 = a.y + BOX_H / 2;
    const x2 = b.x;
    const y2 = b.y + BOX_H / 2;
    const mx = (x1 + x2) / 2;
    const group = svg('g', { class: 'edge', 'data-filter': filterName(e.filter), 'data-tiles': e.tiles, 'data-proofs': e.proofs },
      svg('title', {}, edgeLabel(e)),
      svg('path', { d: `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`, 'marker-end': 'url(#arrow)' }),
      svg('text', { x: mx, y: (y1 + y2) / 2 - 18, 'text-anchor': 'middle', class: 'edge-filter' }, filterName(e.filter)),
      svg('text', { x: mx, y: (y1 + y2) / 2 - 5, 'text-anchor': 'middle', class: 'edge-counts' }, `${e.tiles} tiles · ${e.proofs} proofs`),
    );
    root.append(group);
  }
  for (const n of g.nodes) {
    const p = pos(n.commitment);
    const cls = `node ${n.role}${n.commitment === focus ? ' focus' : ''}${n.available ? ' available' : ''}`;
    const box = svg('g', { class: cls, 'data-commitment': n.commitment, 'data-role': n.role },
      svg('title', {}, nodeLabel(n)),
      svg('rect', { x: p.x, y: p.y, width: BOX_W, height: BOX_H, rx: 8 }),
      svg('text', { x: p.x + 10, y: p.y + 20, class: 'node-role' }, n.commitment === focus ? `${ROLE[n.role]} (this)` : ROLE[n.role]),
      svg('text', { x: p.x + 10, y: p.y + 38, class: 'node-id' }, short(n.commitment, 5)),
      svg('text', { x: p.x + 10, y: p.y + 55, class: 'node-size' }, `${n.width}×${n.height} ${n.format}`),
    );
    if (n.available && n.commitment !== focus) {
      const link = svg('a', { href: `/m/${n.commitment}` }, box);
      root.append(link);
    } else {
      root.append(box);
    }
    const record = chainOf(g)?.records.find((r) => r.commitment === n.commitment);
    if (record) {
      // A badge under the box: the record the chain holds for this commitment.
      const revoked = record.revoked_at !== null;
      const text = revoked ? 'on-chain: REVOKED' : record.kind === 'anchored' ? 'on-chain: anchored' : `on-chain: ${record.kind === 'edit' ? `${record.proofs} proofs verified` : 'signature checked'}`;
      root.append(svg('g', { class: `chain-record ${record.kind}${revoked ? ' revoked' : ''}`, 'data-commitment': n.commitment, 'data-kind': record.kind, 'data-revoked': String(revoked) },
        svg('title', {}, recordLabel(record)),
        svg('rect', { x: p.x + 6, y: p.y + BOX_H + 6, width: BOX_W - 12, height: 22, rx: 11 }),
        svg('text', { x: p.x + BOX_W / 2, y: p.y + BOX_H + 21, 'text-anchor': 'middle' }, text)));
    }
  }
  const list = el('ol', { class: 'graph-list' });
  for (const n of g.nodes) {
    const out = g.edges.filter((e) => e.from === n.commitment);
    const name = n.available && n.commitment !== focus
      ? el('a', { href: `/m/${n.commitment}` }, short(n.commitment))
      : el('code', {}, short(n.commitment));
    list.append(el('li', {},
      el('span', {}, `${ROLE[n.role][0].toUpperCase()}${ROLE[n.role].slice(1)} `), name,
      ` — ${n.width}×${n.height} ${n.format}${n.device ? `, signed by ${n.device}` : ''}${n.commitment === focus ? ' (this item)' : ''}`,
      out.length ? el('ul', {}, ...out.map((e) => el('li', {}, `→ ${short(e.to)} by ${edgeLabel(e)}`))) : null));
  }
  const details = el('details', { class: 'graph-text' }, el('summary', {}, 'The graph as text'), list);
  target.replaceChildren(el('div', { class: 'graph-scroll', tabindex: '0', 'aria-label': 'Provenance graph (scrolls sideways)' }, root), details, chainSection(g));
}

/** The on-chain records as text: none without a chain, a warning when unreadable. */
function chainSection(g: Graph): HTMLElement {
  if (g.chain === null) return el('div', { id: 'chain-records' });
  if ('error' in g.chain) return el('div', { id: 'chain-records' }, el('p', { class: 'warn' }, `On-chain records: ${g.chain.error}`));
  const c = g.chain;
  const body = c.records.length
    ? el('ul', {}, ...c.records.map((r) => el('li', { 'data-commitment': r.commitment, 'data-kind': r.kind },
      el('code', {}, short(r.commitment)), ` — ${recordLabel(r)}`)))
    : el('p', {}, 'None of these items is registered or anchored there.');
  return el('div', { id: 'chain-records' },
    el('h3', {}, `On-chain records (chain ${c.chain_id}, registry `, el('code', {}, c.registry), ')'),
    el('p', { class: 'muted' }, `As read by this server from the chain it is configured with (mpegs chain status gives the same); anchors shown are those of ${c.anchorer}.`),
    body);
}
