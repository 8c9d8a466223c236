// Independent test vectors for mpegs' Poseidon usage and media commitment, computed
// with circomlibjs (the JS reference of circomlib's Poseidon). Packing, tiling and the
// Merkle tree are re-implemented here from the spec in docs/commitment.md; nothing
// calls the Rust code.
//
// Usage: cd scripts/vectors && npm install && node make-vectors.mjs
// Writes crates/mpegs-media/tests/vectors/circomlib.json (checked by
// crates/mpegs-media/tests/circomlib_vectors.rs).

import { buildPoseidon } from "circomlibjs";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outPath = join(here, "..", "..", "crates", "mpegs-media", "tests", "vectors", "circomlib.json");

// BN254 scalar field modulus.
const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

const TILE_BYTES_PER_ELEMENT = 31;
const FIRST_CHUNK = 9;
const NEXT_CHUNK = 11;
const MAX_INPUTS = 12;

const poseidon = await buildPoseidon();
const F = poseidon.F;

/** circomlib Poseidon(n) of a list of bigints; returns a bigint. */
function H(inputs) {
  assert.ok(inputs.length >= 1 && inputs.length <= MAX_INPUTS, `arity ${inputs.length}`);
  for (const x of inputs) assert.ok(typeof x === "bigint" && x >= 0n && x < P, `input ${x}`);
  return F.toObject(poseidon(inputs));
}

/** 0x-prefixed 64-digit big-endian hex. */
const hex = (x) => "0x" + x.toString(16).padStart(64, "0");

/** ASCII bytes read as a big-endian integer. */
function tag(s) {
  let x = 0n;
  for (const b of Buffer.from(s, "ascii")) x = (x << 8n) | BigInt(b);
  return x % P;
}
const TAG_TILE = tag("mpegs.tile.v1");
const TAG_NODE = tag("mpegs.node.v1");
const TAG_MEDIA = tag("mpegs.media.v1");

/** Bytes → little-endian integer. */
function leInt(bytes) {
  let x = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]);
  return x;
}

// ---------- sanity: the well-known circomlib vector ----------
assert.equal(
  hex(H([1n, 2n])),
  "0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a",
  "circomlibjs poseidon([1,2]) does not match the well-known value",
);

// ---------- raw Poseidon vectors, arity 1..12 ----------
const poseidonVectors = [];
for (let n = 1; n <= MAX_INPUTS; n++) {
  const lists = [
    Array.from({ length: n }, (_, i) => BigInt(i + 1)), // 1, 2, ..., n
    Array.from({ length: n }, () => 0n), // all zeros
    // one value near the modulus, the rest small/mixed
    Array.from({ length: n }, (_, i) =>
      i === 0 ? P - 1n : i === n - 1 ? P - 2n - BigInt(n) : BigInt(1000 * i + 7),
    ),
  ];
  for (const inputs of lists) {
    poseidonVectors.push({
      inputs: inputs.map((x) => x.toString(10)),
      output: hex(H(inputs)),
    });
  }
}

// ---------- commitment vectors ----------
const FORMATS = { gray: { code: 1n, channels: 1 }, rgb24: { code: 2n, channels: 3 } };

function frameData(format, w, h) {
  const len = w * h * FORMATS[format].channels;
  return Uint8Array.from({ length: len }, (_, i) => (i * 7 + 3) % 256);
}

function tileBytes(data, format, w, h, t, tx, ty) {
  const c = FORMATS[format].channels;
  const out = new Uint8Array(t * t * c); // zero outside the frame
  for (let r = 0; r < t; r++) {
    for (let col = 0; col < t; col++) {
      const x = tx * t + col;
      const y = ty * t + r;
      if (x >= w || y >= h) continue;
      for (let k = 0; k < c; k++) out[(r * t + col) * c + k] = data[(y * w + x) * c + k];
    }
  }
  return out;
}

function pack(bytes) {
  const els = [];
  for (let i = 0; i < bytes.length; i += TILE_BYTES_PER_ELEMENT) {
    els.push(leInt(bytes.subarray(i, Math.min(i + TILE_BYTES_PER_ELEMENT, bytes.length))));
  }
  return els;
}

const zeroFill = (xs, n) => xs.concat(Array(n - xs.length).fill(0n));

function tileDigest(tx, ty, bytes) {
  const els = pack(bytes);
  let h = H(zeroFill([TAG_TILE, BigInt(tx), BigInt(ty), ...els.slice(0, FIRST_CHUNK)], MAX_INPUTS));
  for (let i = FIRST_CHUNK; i < els.length; i += NEXT_CHUNK) {
    h = H(zeroFill([h, ...els.slice(i, i + NEXT_CHUNK)], MAX_INPUTS));
  }
  return h;
}

function merkleRoot(leaves) {
  let size = 1;
  while (size < leaves.length) size *= 2;
  let level = zeroFill(leaves.slice(), size);
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) next.push(H([TAG_NODE, level[i], level[i + 1]]));
    level = next;
  }
  return level[0];
}

function commitment(format, w, h, t) {
  const data = frameData(format, w, h);
  const tilesX = Math.ceil(w / t);
  const tilesY = Math.ceil(h / t);
  const digests = [];
  const tiles = [];
  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) {
      const bytes = tileBytes(data, format, w, h, t, tx, ty);
      tiles.push(Buffer.from(bytes).toString("hex"));
      digests.push(tileDigest(tx, ty, bytes));
    }
  }
  const root = merkleRoot(digests);
  const value = H([TAG_MEDIA, FORMATS[format].code, BigInt(w), BigInt(h), BigInt(t), root]);
  return {
    format,
    width: w,
    height: h,
    tile: t,
    tiles_x: tilesX,
    tiles_y: tilesY,
    tile_bytes: tiles,
    tile_digests: digests.map(hex),
    root: hex(root),
    commitment: hex(value),
  };
}

// Self-check of the JS tiling on the smallest case: tile (1,0) of gray 5x3 T=4 holds
// pixel (4,0) then zeros in row 0, and row 3 is all zero.
{
  const d = frameData("gray", 5, 3);
  const tb = tileBytes(d, "gray", 5, 3, 4, 1, 0);
  assert.deepEqual(Array.from(tb.subarray(0, 4)), [d[4], 0, 0, 0]);
  assert.deepEqual(Array.from(tb.subarray(12, 16)), [0, 0, 0, 0]);
}

const commitments = [
  commitment("gray", 5, 3, 4),
  commitment("rgb24", 9, 5, 4),
  commitment("gray", 16, 16, 8),
  commitment("rgb24", 13, 6, 4),
  // Extra cases: the four above pack into at most 3 elements per tile, so they never
  // reach the chained permutations. gray T=16 gives exactly 9 elements (first
  // permutation full, no chaining); rgb24 T=16 gives 25 (9 + 11 + a partial 5).
  commitment("gray", 20, 17, 16),
  commitment("rgb24", 20, 12, 16),
];

const out = {
  generator: "scripts/vectors/make-vectors.mjs (circomlibjs buildPoseidon)",
  modulus: P.toString(10),
  frame_data: "byte i of the frame = (i*7+3) mod 256",
  tags: {
    "mpegs.tile.v1": hex(TAG_TILE),
    "mpegs.node.v1": hex(TAG_NODE),
    "mpegs.media.v1": hex(TAG_MEDIA),
  },
  poseidon: poseidonVectors,
  commitments,
};

mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, JSON.stringify(out, null, 2) + "\n");
console.log(
  `wrote ${outPath}: ${poseidonVectors.length} poseidon vectors, ${commitments.length} commitments`,
);
