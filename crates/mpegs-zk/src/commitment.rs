//! In-circuit media commitment (v2): byte packing, blinded tile digests, Merkle
//! openings and the header-bound commitment, mirroring `mpegs_media::commitment`
//! exactly.
//!
//! A tile's blinding value is a private witness: the circuit never needs the seed
//! it came from. Binding is unaffected (the digest is still a Poseidon hash of the
//! bytes, so another opening would be a collision), and a verifier who must know
//! the pixels of a commitment recomputes it natively from the revealed seed.

use crate::num::{Builder, Num};
use crate::poseidon;
use crate::range::to_bits;
use ark_bn254::Fr;
use ark_ff::Field;
use ark_relations::gr1cs::SynthesisError;
use mpegs_media::commitment::{TileOpening, DIGEST_PREFIX, FIRST_CHUNK, NEXT_CHUNK};
use mpegs_media::poseidon::{tag, TAG_MEDIA, TAG_NODE, TAG_TILE, TAG_VIDEO};
use mpegs_media::{MediaHeader, TILE_BYTES_PER_ELEMENT};

/// Packs bytes little-endian, 31 per element (free: linear combinations).
///
/// Soundness: the packing is injective only if every byte is range-checked or is a
/// copy of a range-checked byte; callers guarantee that.
pub fn pack(bytes: &[Num]) -> Vec<Num> {
    let base = Fr::from(256u64);
    bytes
        .chunks(TILE_BYTES_PER_ELEMENT)
        .map(|chunk| {
            let weights: Vec<Fr> = (0..chunk.len()).map(|i| base.pow([i as u64])).collect();
            Num::sum(weights.into_iter().zip(chunk))
        })
        .collect()
}

/// The digest of a tile at coordinates (tx, ty) with its blinding and bytes.
pub fn tile_digest(
    b: &Builder,
    tx: &Num,
    ty: &Num,
    blind: &Num,
    bytes: &[Num],
) -> Result<Num, SynthesisError> {
    let elements = pack(bytes);
    let first = elements.len().min(FIRST_CHUNK);
    let mut inputs = vec![
        Num::constant(tag(TAG_TILE)),
        tx.clone(),
        ty.clone(),
        blind.clone(),
    ];
    inputs.extend_from_slice(&elements[..first]);
    inputs.resize(DIGEST_PREFIX + FIRST_CHUNK, Num::zero());
    let mut state = poseidon::hash(b, &inputs)?;
    for chunk in elements[first..].chunks(NEXT_CHUNK) {
        let mut inputs = vec![state];
        inputs.extend_from_slice(chunk);
        inputs.resize(1 + NEXT_CHUNK, Num::zero());
        state = poseidon::hash(b, &inputs)?;
    }
    Ok(state)
}

/// Recomputes a Merkle root from a leaf, the bits of its index (little-endian, one
/// per level) and the sibling path.
pub fn merkle_root(
    b: &Builder,
    leaf: &Num,
    index_bits: &[Num],
    path: &[Num],
) -> Result<Num, SynthesisError> {
    assert_eq!(index_bits.len(), path.len(), "one index bit per level");
    let tag_node = Num::constant(tag(TAG_NODE));
    let mut node = leaf.clone();
    for (bit, sibling) in index_bits.iter().zip(path) {
        // left = bit ? sibling : node; right = node + sibling − left (one constraint).
        let left = b.select(bit, sibling, &node)?;
        let right = node.add(sibling).sub(&left);
        node = poseidon::hash(b, &[tag_node.clone(), left, right])?;
    }
    Ok(node)
}

/// The little-endian bits of a leaf index, proving it fits the tree's depth.
pub fn index_bits(b: &Builder, index: &Num, depth: usize) -> Result<Vec<Num>, SynthesisError> {
    to_bits(b, index, depth)
}

/// The commitment value for a header (constants) and a root.
pub fn commit_root(b: &Builder, header: &MediaHeader, root: &Num) -> Result<Num, SynthesisError> {
    let constants = [
        tag(TAG_MEDIA),
        Fr::from(header.format.code()),
        Fr::from(header.width as u64),
        Fr::from(header.height as u64),
        Fr::from(header.tile as u64),
    ];
    let mut inputs: Vec<Num> = constants.into_iter().map(Num::constant).collect();
    inputs.push(root.clone());
    poseidon::hash(b, &inputs)
}

/// The video commitment for a frame count (a constant of the circuit) and the root
/// over its frame commitments (`mpegs_media::commitment::video_value`).
pub fn video_value(b: &Builder, frames: u64, root: &Num) -> Result<Num, SynthesisError> {
    poseidon::hash(
        b,
        &[
            Num::constant(tag(TAG_VIDEO)),
            Num::from_u64(frames),
            root.clone(),
        ],
    )
}

/// The private part of a tile opening: the tile's blinding value and its Merkle
/// path, both witnesses.
pub struct Opening {
    pub blind: Num,
    pub path: Vec<Num>,
}

impl Opening {
    /// Allocates the blinding and the siblings as private witnesses.
    pub fn witness(b: &Builder, native: &TileOpening) -> Result<Self, SynthesisError> {
        Ok(Self {
            blind: b.witness(Some(native.blind))?,
            path: native
                .path
                .iter()
                .map(|s| b.witness(Some(*s)))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Opens tile (tx, ty) of a commitment: hashes `bytes` with the opening's blinding
/// into the tile digest, walks the path to the root and enforces that the
/// header-bound commitment equals `commitment`. `tx`, `ty` are typically public.
pub fn open_tile(
    b: &Builder,
    header: &MediaHeader,
    commitment: &Num,
    tx: &Num,
    ty: &Num,
    bytes: &[Num],
    opening: &Opening,
) -> Result<(), SynthesisError> {
    let path = &opening.path;
    let leaf = tile_digest(b, tx, ty, &opening.blind, bytes)?;
    let index = ty.scale(Fr::from(header.tiles_x() as u64)).add(tx);
    let bits = index_bits(b, &index, header.depth())?;
    let root = merkle_root(b, &leaf, &bits, path)?;
    let value = commit_root(b, header, &root)?;
    b.enforce_equal(&value, commitment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::witness_bytes;
    use ark_relations::gr1cs::ConstraintSystem;
    use mpegs_media::commitment::{tile_bytes, tile_digest as native_digest};
    use mpegs_media::{Commitment, Frame, FrameInfo, PixelFormat, Seed};

    const SEED: Seed = Seed([3; 32]);

    fn frame() -> Frame {
        let info = FrameInfo::new(PixelFormat::Rgb24, 11, 6);
        let data = (0..info.byte_len()).map(|i| (i * 31 + 5) as u8).collect();
        Frame::new(info, data).unwrap()
    }

    /// Opens tile `open` of `frame` claiming it sits at `claimed` and returns whether
    /// the constraints hold.
    fn open(frame: &Frame, open: (u32, u32), claimed: (u32, u32), tamper: Tamper) -> bool {
        let c = Commitment::of_frame(frame, 4, &SEED).unwrap();
        let h = c.header;
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let mut bytes = tile_bytes(frame, 4, open.0, open.1);
        if tamper == Tamper::Pixel {
            bytes[5] ^= 0x10;
        }
        let mut blind = c.blind(open.0, open.1);
        if tamper == Tamper::Blinding {
            blind += Fr::from(1u64);
        }
        let vals: Vec<Option<u8>> = bytes.iter().map(|v| Some(*v)).collect();
        let vars: Vec<Num> = witness_bytes(&b, &vals)
            .unwrap()
            .into_iter()
            .map(|v| v.num)
            .collect();
        let native = TileOpening {
            blind,
            path: c.tree.path(h.tile_index(open.0, open.1)),
        };
        let opening = Opening::witness(&b, &native).unwrap();
        let com = b.input(Some(c.value)).unwrap();
        let tx = b.input(Some(Fr::from(claimed.0 as u64))).unwrap();
        let ty = b.input(Some(Fr::from(claimed.1 as u64))).unwrap();
        open_tile(&b, &h, &com, &tx, &ty, &vars, &opening).unwrap();
        b.is_satisfied().unwrap()
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Tamper {
        None,
        Pixel,
        Blinding,
    }

    #[test]
    fn digest_gadget_matches_native() {
        let f = frame();
        let bytes = tile_bytes(&f, 4, 2, 1);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let vars: Vec<Num> = bytes.iter().map(|v| Num::from_u64(*v as u64)).collect();
        let blind = Fr::from(987_654_321u64);
        let d = tile_digest(
            &b,
            &Num::from_u64(2),
            &Num::from_u64(1),
            &Num::constant(blind),
            &vars,
        )
        .unwrap();
        assert_eq!(d.value, Some(native_digest(2, 1, blind, &bytes)));
    }

    /// design.md §3: packing is only injective if every packed byte is range-checked.
    /// Without the checks, (b₀ + 256, b₁ − 1) packs exactly like (b₀, b₁): a forged
    /// tile opens the honest commitment. With them, the forgery is unsatisfiable.
    #[test]
    fn skipping_range_checks_would_let_a_forged_tile_open() {
        let f = frame();
        let c = Commitment::of_frame(&f, 4, &SEED).unwrap();
        let honest = tile_bytes(&f, 4, 0, 0);
        assert!(honest[1] > 0, "fixture needs a non-zero second byte");
        let mut forged: Vec<Fr> = honest.iter().map(|v| Fr::from(*v as u64)).collect();
        forged[0] += Fr::from(256u64);
        forged[1] -= Fr::from(1u64);
        for checked in [false, true] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let b = Builder::new(cs.clone());
            let vars: Vec<Num> = forged
                .iter()
                .map(|v| {
                    let x = b.witness(Some(*v)).unwrap();
                    if checked {
                        crate::range::enforce_range(&b, &x, 8).unwrap();
                    }
                    x
                })
                .collect();
            let opening = Opening::witness(&b, &c.opening(0, 0)).unwrap();
            let com = b.input(Some(c.value)).unwrap();
            let zero = Num::zero();
            open_tile(&b, &c.header, &com, &zero, &zero, &vars, &opening).unwrap();
            // The forged pixel value 256 + b₀ is not a byte, yet without range checks
            // the opening holds.
            assert_eq!(b.is_satisfied().unwrap(), !checked, "checked = {checked}");
        }
    }

    #[test]
    fn honest_opening_holds_and_tampering_fails() {
        let f = frame();
        assert!(open(&f, (2, 1), (2, 1), Tamper::None));
        assert!(!open(&f, (2, 1), (2, 1), Tamper::Pixel), "tampered pixel");
        assert!(
            !open(&f, (2, 1), (2, 1), Tamper::Blinding),
            "another tile's blinding"
        );
        assert!(
            !open(&f, (2, 1), (1, 1), Tamper::None),
            "tile claimed at another position"
        );
    }
}
