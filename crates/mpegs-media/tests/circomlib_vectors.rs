//! Checks the native Poseidon and media commitment against independent vectors
//! computed with circomlibjs (`scripts/vectors/make-vectors.mjs`, which re-implements
//! packing, tiling and the Merkle tree in JavaScript from docs/commitment.md).
//!
//! Regenerate with: `cd scripts/vectors && npm install && node make-vectors.mjs`.

use ark_ff::PrimeField;
use mpegs_media::commitment::{blinding, tile_bytes, tile_digest, MediaHeader, VideoCommitment};
use mpegs_media::poseidon::{
    fr_to_hex, hash, tag, TAG_BLIND, TAG_MEDIA, TAG_NODE, TAG_TILE, TAG_VIDEO,
};
use mpegs_media::{Commitment, Fr, Frame, FrameInfo, MerkleTree, PixelFormat, Seed};
use serde_json::Value;

const WELL_KNOWN_1_2: &str = "0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a";

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/circomlib.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("'{key}' is not a string in {v}"))
}

fn u32_of(v: &Value, key: &str) -> u32 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("'{key}' is not an integer in {v}")) as u32
}

/// A canonical decimal string (below the modulus) as a field element.
fn fr_from_dec(s: &str) -> Fr {
    let x: Fr = s
        .parse()
        .unwrap_or_else(|_| panic!("'{s}' is not a decimal field element"));
    // `FromStr` reduces mod p; insist the vector was already canonical.
    assert_eq!(
        x.into_bigint().to_string(),
        s,
        "'{s}' is not below the modulus"
    );
    x
}

fn hex_decode(s: &str) -> Vec<u8> {
    assert_eq!(s.len() % 2, 0, "odd-length hex");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn well_known_poseidon_1_2() {
    let h = hash(&[Fr::from(1u64), Fr::from(2u64)]);
    assert_eq!(fr_to_hex(&h), WELL_KNOWN_1_2);
}

#[test]
fn tags_match() {
    let v = vectors();
    let tags = &v["tags"];
    for (name, t) in [
        ("mpegs.tile.v2", TAG_TILE),
        ("mpegs.node.v1", TAG_NODE),
        ("mpegs.media.v2", TAG_MEDIA),
        ("mpegs.video.v2", TAG_VIDEO),
        ("mpegs.blind.v2", TAG_BLIND),
    ] {
        assert_eq!(name.as_bytes(), t);
        assert_eq!(fr_to_hex(&tag(t)), str_of(tags, name), "tag {name}");
    }
}

#[test]
fn poseidon_vectors_match() {
    let v = vectors();
    let list = v["poseidon"].as_array().expect("poseidon array");
    let mut arities = [0usize; 13];
    let mut failures = vec![];
    for (i, case) in list.iter().enumerate() {
        let inputs: Vec<Fr> = case["inputs"]
            .as_array()
            .expect("inputs array")
            .iter()
            .map(|x| fr_from_dec(x.as_str().expect("decimal string")))
            .collect();
        arities[inputs.len()] += 1;
        let got = fr_to_hex(&hash(&inputs));
        let want = str_of(case, "output");
        if got != want {
            failures.push(format!(
                "poseidon[{i}] arity {}: inputs {:?}: native {got}, circomlibjs {want}",
                inputs.len(),
                case["inputs"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for (n, count) in arities.iter().enumerate().skip(1) {
        assert!(*count >= 2, "arity {n} has only {count} vectors");
    }
    assert!(list
        .iter()
        .any(|c| c["inputs"] == serde_json::json!(["1", "2"]) && c["output"] == WELL_KNOWN_1_2));
}

#[test]
fn commitment_vectors_match() {
    let v = vectors();
    let list = v["commitments"].as_array().expect("commitments array");
    assert!(list.len() >= 4);
    let mut failures = vec![];
    for case in list {
        let format: PixelFormat = str_of(case, "format").parse().expect("format");
        let (w, h, t) = (
            u32_of(case, "width"),
            u32_of(case, "height"),
            u32_of(case, "tile"),
        );
        let name = format!("{format} {w}x{h} T={t}");
        let info = FrameInfo::new(format, w, h);
        let data = (0..info.byte_len())
            .map(|i| ((i * 7 + 3) % 256) as u8)
            .collect();
        let frame = Frame::new(info, data).expect("frame");

        let header = MediaHeader::new(info, t).expect("header");
        assert_eq!(header.tiles_x(), u32_of(case, "tiles_x"), "{name}: tiles_x");
        assert_eq!(header.tiles_y(), u32_of(case, "tiles_y"), "{name}: tiles_y");

        let seed = Seed::from_hex(str_of(case, "seed")).expect("seed");
        assert_eq!(
            fr_to_hex(&seed.field()),
            str_of(case, "seed_field"),
            "{name}: seed field"
        );
        assert_eq!(u32_of(case, "frame_index"), 0, "{name}: still image");
        let want_blinds = case["tile_blindings"].as_array().expect("tile_blindings");
        let want_bytes = case["tile_bytes"].as_array().expect("tile_bytes");
        let want_digests = case["tile_digests"].as_array().expect("tile_digests");
        assert_eq!(
            want_digests.len(),
            header.tile_count(),
            "{name}: tile count"
        );
        assert_eq!(want_bytes.len(), header.tile_count(), "{name}: tile count");

        let mut leaves = vec![];
        for i in 0..header.tile_count() {
            let (tx, ty) = header.tile_coords(i);
            let bytes = tile_bytes(&frame, t, tx, ty);
            if bytes != hex_decode(want_bytes[i].as_str().expect("hex")) {
                failures.push(format!("{name}: tile_bytes of tile ({tx},{ty}) differ"));
            }
            let blind = blinding(&seed, 0, tx, ty);
            if fr_to_hex(&blind) != want_blinds[i].as_str().expect("hex") {
                failures.push(format!("{name}: blinding of tile ({tx},{ty}) differs"));
            }
            let d = tile_digest(tx, ty, blind, &bytes);
            let want = want_digests[i].as_str().expect("hex");
            if fr_to_hex(&d) != want {
                failures.push(format!(
                    "{name}: tile_digest ({tx},{ty}): native {}, circomlibjs {want}",
                    fr_to_hex(&d)
                ));
            }
            leaves.push(d);
        }

        let tree = MerkleTree::new(leaves);
        let want_root = str_of(case, "root");
        if fr_to_hex(&tree.root()) != want_root {
            failures.push(format!(
                "{name}: MerkleTree root: native {}, circomlibjs {want_root}",
                fr_to_hex(&tree.root())
            ));
        }

        let c = Commitment::of_frame(&frame, t, &seed).expect("commit");
        let want_value = str_of(case, "commitment");
        if fr_to_hex(&c.tree.root()) != want_root {
            failures.push(format!(
                "{name}: Commitment::of_frame root: native {}, circomlibjs {want_root}",
                fr_to_hex(&c.tree.root())
            ));
        }
        if fr_to_hex(&c.value) != want_value {
            failures.push(format!(
                "{name}: commitment: native {}, circomlibjs {want_value}",
                fr_to_hex(&c.value)
            ));
        }
        for (i, want) in want_digests.iter().enumerate() {
            if fr_to_hex(&c.tree.leaf(i)) != want.as_str().expect("hex") {
                failures.push(format!("{name}: Commitment::of_frame leaf {i} differs"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn video_vector_matches() {
    let v = vectors();
    let case = &v["video"];
    let format: PixelFormat = str_of(case, "format").parse().expect("format");
    let (w, h, t) = (
        u32_of(case, "width"),
        u32_of(case, "height"),
        u32_of(case, "tile"),
    );
    let seed = Seed::from_hex(str_of(case, "seed")).expect("seed");
    let info = FrameInfo::new(format, w, h);
    let frames: Vec<Commitment> = (0..u32_of(case, "frame_count") as usize)
        .map(|i| {
            let data = (0..info.byte_len())
                .map(|j| ((j * 3 + i * 50) % 256) as u8)
                .collect();
            Commitment::of_video_frame(&Frame::new(info, data).unwrap(), t, &seed, i as u32)
                .unwrap()
        })
        .collect();
    let want: Vec<&str> = case["frame_commitments"]
        .as_array()
        .expect("frame_commitments")
        .iter()
        .map(|c| c.as_str().expect("hex"))
        .collect();
    let got: Vec<String> = frames.iter().map(|c| fr_to_hex(&c.value)).collect();
    assert_eq!(got, want, "frame commitments");
    let video = VideoCommitment::new(frames).unwrap();
    assert_eq!(
        fr_to_hex(&video.tree.root()),
        str_of(case, "frame_tree_root")
    );
    assert_eq!(fr_to_hex(&video.value), str_of(case, "commitment"));
}
