// Independent test vectors for mpegs' Poseidon usage and the v2 (hiding) media
// commitment, computed with circomlibjs (the JS reference of circomlib's Poseidon).
// Seeded tile blindings, packing, tiling, the tile digest chain, the Merkle tree and
// the frame / video commitments are re-implemented here from the spec in
// docs/commitment.md; nothing calls the Rust code.
//
// v2 in short (tags are ASCII read big-endian; every hash is circomlib Poseidon(n)):
//   s      = int.from_bytes(seed32, "big") mod p
//   blind  = Poseidon5(TAG_BLIND "mpegs.blind.v2", s, f, tx, ty)   f = frame index (0 for a still)
//   digest = Poseidon12(TAG_TILE "mpegs.tile.v2", tx, ty, blind, e_0..e_7), then
//            Poseidon12(st, e_k..e_{k+10}) for k = 8, 19, ...       (zero-filled to 12 inputs)
//   root   = Merkle root, node = Poseidon3(TAG_NODE "mpegs.node.v1", left, right)
//   frame  = Poseidon6(TAG_MEDIA "mpegs.media.v2", format_code, W, H, T, root)
//   video  = Poseidon3(TAG_VIDEO "mpegs.video.v2", frame_count, Merkle root of frame commitments)
//
// Usage: cd scripts/vectors && npm ci && node make-vectors.mjs
// Writes crates/mpegs-media/tests/vectors/circomlib.json (checked by
// crates/mpegs-media/tests/circomlib_vectors.rs). The output is deterministic: running
// it twice gives a byte-identical file.

import { buildPoseidon } from "circomlibjs";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outPath = join(here, "..", "..", "crates", "mpegs-media", "tests", "vectors", "circomlib.json");

// BN254 scalar field modulus.
const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

const TILE_BYTES_PER_ELEMENT = 31;
const FIRST_CHUNK = 8; // v2: TAG_TILE, tx, ty, blind + 8 elements = 12 inputs
const NEXT_CHUNK = 11;
const MAX_INPUTS = 12;

const SEED_BYTES = 32;

const circomlibjsVersion = JSON.parse(
  readFileSync(join(here, "node_modules", "circomlibjs", "package.json"), "utf8"),
).version;
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
const TAG_NAMES = {
  tile: "mpegs.tile.v2",
  node: "mpegs.node.v1", // unchanged in v2
  media: "mpegs.media.v2",
  video: "mpegs.video.v2",
  blind: "mpegs.blind.v2",
};
const TAG_TILE = tag(TAG_NAMES.tile);
const TAG_NODE = tag(TAG_NAMES.node);
const TAG_MEDIA = tag(TAG_NAMES.media);
const TAG_VIDEO = tag(TAG_NAMES.video);
const TAG_BLIND = tag(TAG_NAMES.blind);

/** Bytes → little-endian integer. */
function leInt(bytes) {
  let x = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]);
  return x;
}

/** Bytes → big-endian integer. */
function beInt(bytes) {
  let x = 0n;
  for (const b of bytes) x = (x << 8n) | BigInt(b);
  return x;
}

// Seeds: A has seed[i] = i, B has seed[i] = 0xff - i (B read big-endian is > p, so its
// field element exercises the reduction mod p).
const SEED_A = Uint8Array.from({ length: SEED_BYTES }, (_, i) => i);
const SEED_B = Uint8Array.from({ length: SEED_BYTES }, (_, i) => 0xff - i);

/** The seed's field element: the 32 bytes read big-endian, reduced mod p. */
function seedField(seed) {
  assert.equal(seed.length, SEED_BYTES, "seed length");
  return beInt(seed) % P;
}

/** Seed bytes as "0x" + 64 lowercase hex digits. */
const seedHex = (seed) => "0x" + Buffer.from(seed).toString("hex");

/** Blinding of tile (tx, ty) of frame index f. */
const blinding = (s, f, tx, ty) => H([TAG_BLIND, s, BigInt(f), BigInt(tx), BigInt(ty)]);

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

/** Frame i of the video case: byte j = (j*3 + i*50) mod 256. */
function videoFrameData(format, w, h, i) {
  const len = w * h * FORMATS[format].channels;
  return Uint8Array.from({ length: len }, (_, j) => (j * 3 + i * 50) % 256);
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

/** Number of Poseidon12 calls of one tile digest with n packed elements. */
const digestCalls = (n) => 1 + Math.ceil(Math.max(n - FIRST_CHUNK, 0) / NEXT_CHUNK);

function tileDigest(tx, ty, blind, bytes) {
  const els = pack(bytes);
  let calls = 1;
  let h = H(
    zeroFill([TAG_TILE, BigInt(tx), BigInt(ty), blind, ...els.slice(0, FIRST_CHUNK)], MAX_INPUTS),
  );
  for (let i = FIRST_CHUNK; i < els.length; i += NEXT_CHUNK) {
    h = H(zeroFill([h, ...els.slice(i, i + NEXT_CHUNK)], MAX_INPUTS));
    calls++;
  }
  assert.equal(calls, digestCalls(els.length));
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

/** v2 commitment of one frame (data) with the given seed and frame index. */
function commitFrame(format, w, h, t, data, seed, frameIndex) {
  assert.equal(data.length, w * h * FORMATS[format].channels, "frame length");
  const s = seedField(seed);
  const tilesX = Math.ceil(w / t);
  const tilesY = Math.ceil(h / t);
  const tiles = [];
  const blinds = [];
  const digests = [];
  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) {
      const bytes = tileBytes(data, format, w, h, t, tx, ty);
      const blind = blinding(s, frameIndex, tx, ty);
      tiles.push(Buffer.from(bytes).toString("hex"));
      blinds.push(blind);
      digests.push(tileDigest(tx, ty, blind, bytes));
    }
  }
  const root = merkleRoot(digests);
  const value = H([TAG_MEDIA, FORMATS[format].code, BigInt(w), BigInt(h), BigInt(t), root]);
  return { s, tilesX, tilesY, tiles, blinds, digests, root, value };
}

/** A frame commitment test case (frame data = frameData rule). */
function commitment(format, w, h, t, seed = SEED_A, frameIndex = 0) {
  const c = commitFrame(format, w, h, t, frameData(format, w, h), seed, frameIndex);
  return {
    format,
    width: w,
    height: h,
    tile: t,
    tiles_x: c.tilesX,
    tiles_y: c.tilesY,
    seed: seedHex(seed),
    seed_field: hex(c.s),
    frame_index: frameIndex,
    tile_bytes: c.tiles,
    tile_blindings: c.blinds.map(hex),
    tile_digests: c.digests.map(hex),
    root: hex(c.root),
    commitment: hex(c.value),
  };
}

/** The video test case: frames committed with f = frame index, then TAG_VIDEO. */
function videoCommitment(format, w, h, t, frameCount, seed) {
  const frames = [];
  for (let i = 0; i < frameCount; i++) {
    frames.push(commitFrame(format, w, h, t, videoFrameData(format, w, h, i), seed, i));
  }
  const frameTreeRoot = merkleRoot(frames.map((f) => f.value));
  const value = H([TAG_VIDEO, BigInt(frameCount), frameTreeRoot]);
  return {
    format,
    width: w,
    height: h,
    tile: t,
    tiles_x: frames[0].tilesX,
    tiles_y: frames[0].tilesY,
    frame_count: frameCount,
    frame_data: "byte j of frame i = (j*3 + i*50) mod 256",
    seed: seedHex(seed),
    seed_field: hex(seedField(seed)),
    frame_commitments: frames.map((f) => hex(f.value)),
    frame_tree_root: hex(frameTreeRoot),
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

// Self-checks of the seed handling: A is below p as is, B is not and gets reduced.
assert.equal(seedHex(SEED_A), "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
assert.equal(seedField(SEED_A), beInt(SEED_A));
assert.ok(beInt(SEED_B) >= P && seedField(SEED_B) === beInt(SEED_B) % P);
// Chunking with FIRST_CHUNK = 8: gray T=16 packs 256 bytes into 9 elements (8 + 1: two
// calls), rgb24 T=16 packs 768 bytes into 25 elements (8 + 11 + a partial 6: three calls).
assert.equal(pack(new Uint8Array(16 * 16)).length, 9);
assert.equal(digestCalls(9), 2);
assert.equal(pack(new Uint8Array(16 * 16 * 3)).length, 25);
assert.equal(digestCalls(25), 3);

const commitments = [
  // All with seed A and frame index 0.
  commitment("gray", 5, 3, 4),
  commitment("rgb24", 9, 5, 4),
  commitment("gray", 16, 16, 8),
  commitment("rgb24", 13, 6, 4),
  // Extra cases: the four above pack into at most 3 elements per tile, so they never
  // reach the chained permutations. gray T=16 gives 9 elements (a full first call plus
  // a chained call holding one element); rgb24 T=16 gives 25 (8 + 11 + a partial 6).
  commitment("gray", 20, 17, 16),
  commitment("rgb24", 20, 12, 16),
  // The first shape again with seed B: same pixels, other blindings, other commitment.
  commitment("gray", 5, 3, 4, SEED_B),
];
assert.notEqual(commitments[0].commitment, commitments[6].commitment);
assert.deepEqual(commitments[0].tile_bytes, commitments[6].tile_bytes);

const video = videoCommitment("gray", 20, 12, 16, 3, SEED_A);
assert.equal(new Set(video.frame_commitments).size, 3);

const out = {
  generator: `scripts/vectors/make-vectors.mjs (circomlibjs ${circomlibjsVersion} buildPoseidon): media commitment v2 (hiding, seeded tile blindings)`,
  modulus: P.toString(10),
  frame_data: "byte i of the frame = (i*7+3) mod 256",
  tags: Object.fromEntries(
    [TAG_NAMES.tile, TAG_NAMES.node, TAG_NAMES.media, TAG_NAMES.video, TAG_NAMES.blind].map(
      (name) => [name, hex(tag(name))],
    ),
  ),
  poseidon: poseidonVectors,
  commitments,
  video,
};

mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, JSON.stringify(out, null, 2) + "\n");
console.log(
  `wrote ${outPath}: ${poseidonVectors.length} poseidon vectors, ${commitments.length} commitments, 1 video`,
);
