// Independent test vectors for mpegs' EIP-712 capture attestation (docs/bundle.md),
// computed with ethers v6 (`TypedDataEncoder.hash`, `Wallet.signTypedData`). Nothing
// here calls the Rust code; the domain and type are written out from the spec.
//
// Usage: cd scripts/vectors && npm install && node make-eip712-vector.mjs
// Writes crates/mpegs-provenance/tests/vectors/eip712.json (checked by
// crates/mpegs-provenance/tests/eip712_vectors.rs).

import {
  AbiCoder,
  Signature,
  TypedDataEncoder,
  Wallet,
  keccak256,
  toUtf8Bytes,
  verifyTypedData,
  version as ethersVersion,
} from "ethers";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outPath = join(here, "..", "..", "crates", "mpegs-provenance", "tests", "vectors", "eip712.json");

// BN254 scalar field modulus: a commitment is a field element, so it is below this.
const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
// secp256k1 group order (for the low-s check).
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const domain = { name: "mpegs", version: "1" };
const types = {
  MediaCapture: [
    { name: "commitment", type: "bytes32" },
    { name: "format", type: "uint8" },
    { name: "width", type: "uint32" },
    { name: "height", type: "uint32" },
    { name: "capturedAt", type: "uint64" },
    { name: "deviceId", type: "string" },
  ],
};
const ENCODE_TYPE =
  "MediaCapture(bytes32 commitment,uint8 format,uint32 width,uint32 height,uint64 capturedAt,string deviceId)";
assert.equal(TypedDataEncoder.from(types).encodeType("MediaCapture"), ENCODE_TYPE);

const bytes32 = (x) => "0x" + x.toString(16).padStart(64, "0");

const cases = [
  {
    name: "brief: commitment 12345, rgb24 640x480",
    private_key: "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
    commitment: 12345n,
    format: 2, // rgb24
    width: 640,
    height: 480,
    capturedAt: 1700000000n,
    deviceId: "cam-1",
  },
  {
    name: "extremes: commitment p-1, gray, max width, max u64 time, UTF-8 device id",
    private_key: "0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    commitment: P - 1n,
    format: 1, // gray
    width: 4294967295,
    height: 1,
    capturedAt: 18446744073709551615n,
    deviceId: "caméra-№2 ✓",
  },
  {
    name: "zeros: commitment 0, empty device id",
    private_key: "0x00000000000000000000000000000000000000000000000000000000000000ff",
    commitment: 0n,
    format: 1,
    width: 1,
    height: 1,
    capturedAt: 0n,
    deviceId: "",
  },
];

const coder = AbiCoder.defaultAbiCoder();
const domainSeparator = TypedDataEncoder.hashDomain(domain);
// Hand-rolled domain separator, as a cross-check of the spec.
assert.equal(
  domainSeparator,
  keccak256(
    coder.encode(
      ["bytes32", "bytes32", "bytes32"],
      [
        keccak256(toUtf8Bytes("EIP712Domain(string name,string version)")),
        keccak256(toUtf8Bytes("mpegs")),
        keccak256(toUtf8Bytes("1")),
      ],
    ),
  ),
);

const vectors = [];
for (const c of cases) {
  assert.ok(c.commitment >= 0n && c.commitment < P);
  const wallet = new Wallet(c.private_key);
  const message = {
    commitment: bytes32(c.commitment),
    format: c.format,
    width: c.width,
    height: c.height,
    capturedAt: c.capturedAt,
    deviceId: c.deviceId,
  };
  const digest = TypedDataEncoder.hash(domain, types, message);
  const structHash = TypedDataEncoder.hashStruct("MediaCapture", types, message);

  // Hand-rolled hashStruct / digest, as a cross-check of the spec.
  const manualStruct = keccak256(
    coder.encode(
      ["bytes32", "bytes32", "uint8", "uint32", "uint32", "uint64", "bytes32"],
      [
        keccak256(toUtf8Bytes(ENCODE_TYPE)),
        message.commitment,
        c.format,
        c.width,
        c.height,
        c.capturedAt,
        keccak256(toUtf8Bytes(c.deviceId)),
      ],
    ),
  );
  assert.equal(structHash, manualStruct);
  assert.equal(digest, keccak256("0x1901" + domainSeparator.slice(2) + structHash.slice(2)));

  const signature = await wallet.signTypedData(domain, types, message);
  const sig = Signature.from(signature);
  assert.equal((signature.length - 2) / 2, 65);
  assert.ok(sig.v === 27 || sig.v === 28, `v = ${sig.v}`);
  assert.ok(BigInt(sig.s) <= N / 2n, "high s");
  assert.equal(verifyTypedData(domain, types, message, signature), wallet.address);

  vectors.push({
    name: c.name,
    private_key: c.private_key,
    address: wallet.address.toLowerCase(),
    message: {
      commitment: message.commitment,
      format: c.format,
      width: c.width,
      height: c.height,
      // Decimal string: a uint64 may not fit a JSON/JS number exactly.
      capturedAt: c.capturedAt.toString(10),
      deviceId: c.deviceId,
    },
    struct_hash: structHash,
    digest,
    signature,
  });
}

const out = {
  generator: `scripts/vectors/make-eip712-vector.mjs (ethers ${ethersVersion} TypedDataEncoder.hash, Wallet.signTypedData)`,
  domain,
  domain_type: "EIP712Domain(string name,string version)",
  domain_separator: domainSeparator,
  primary_type: "MediaCapture",
  types,
  encode_type: ENCODE_TYPE,
  format_codes: { gray: 1, rgb24: 2 },
  signature_encoding: "65 bytes r || s || v, v = 27 + recovery id, low s (RFC 6979 nonces)",
  vectors,
};

mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, JSON.stringify(out, null, 2) + "\n");
console.log(`wrote ${outPath}: ${vectors.length} vectors`);
for (const v of vectors) console.log(`  ${v.address} ${v.digest}`);
