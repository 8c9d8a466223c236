//! The storage statement for one epoch:
//!
//! > For each public index `i₁ … i_k`, I know pHashes `y_j, u_j, v_j` (one per plane)
//! > and a Merkle path such that `Poseidon(tag, i_j, y_j, u_j, v_j)` is leaf `i_j` of
//! > the tree with the public root.
//!
//! Public inputs, in order: `root, nonce, i₁, …, i_k`. The nonce is the digest of
//! the revealed epoch challenge; it is bound by a constraint (an unconstrained
//! public input would not be), so a proof answers exactly one epoch even if two
//! epochs happened to share a root and indices. Indices are range-checked to the
//! tree's depth, so their bits select the path directions.

use ark_bn254::Fr;
use mpegs_media::poseidon::tag;
use mpegs_zk::commitment::{index_bits, merkle_root};
use mpegs_zk::{poseidon, Builder, Circuit, Num, SynthesisError};

use crate::tree::{Opening, TAG_LEAF};

/// One epoch's inclusion proof circuit for `k` openings in a tree of `depth`.
#[derive(Clone, Debug)]
pub struct InclusionCircuit {
    pub root: Fr,
    pub nonce: Fr,
    pub depth: usize,
    pub openings: Vec<Opening>,
}

impl InclusionCircuit {
    /// A witness-free instance with the same shape (for key generation).
    pub fn blank(k: usize, depth: usize) -> Self {
        Self {
            root: Fr::from(0u64),
            nonce: Fr::from(0u64),
            depth,
            openings: (0..k)
                .map(|_| Opening {
                    index: 0,
                    phash: Default::default(),
                    path: vec![Fr::from(0u64); depth],
                })
                .collect(),
        }
    }

    /// The public inputs in allocation order.
    pub fn public_inputs(root: Fr, nonce: Fr, indices: &[u32]) -> Vec<Fr> {
        let mut out = vec![root, nonce];
        out.extend(indices.iter().map(|i| Fr::from(*i as u64)));
        out
    }
}

impl Circuit for InclusionCircuit {
    fn synthesize(self, b: &Builder) -> Result<(), SynthesisError> {
        let b = b.clone();
        let root = b.input(Some(self.root))?;
        let nonce = b.input(Some(self.nonce))?;
        // nonce · 1 = nonce: puts the nonce in a constraint so the proof binds it.
        b.enforce_product(&nonce, &Num::from_u64(1), &nonce)?;
        let tag_leaf = Num::constant(tag(TAG_LEAF));
        let indices = self
            .openings
            .iter()
            .map(|o| b.input(Some(Fr::from(o.index as u64))))
            .collect::<Result<Vec<_>, _>>()?;
        for (o, index) in self.openings.iter().zip(&indices) {
            if o.path.len() != self.depth {
                return Err(SynthesisError::Unsatisfiable);
            }
            let bits = index_bits(&b, index, self.depth)?;
            let h = &o.phash;
            let mut preimage = vec![tag_leaf.clone(), index.clone()];
            for plane in [h.y, h.u, h.v] {
                preimage.push(b.witness(Some(Fr::from(plane)))?);
            }
            let leaf = poseidon::hash(&b, &preimage)?;
            let path = o
                .path
                .iter()
                .map(|s| b.witness(Some(*s)))
                .collect::<Result<Vec<_>, _>>()?;
            let computed = merkle_root(&b, &leaf, &bits, &path)?;
            b.enforce_equal(&computed, &root)?;
        }
        Ok(())
    }
}
