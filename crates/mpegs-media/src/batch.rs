//! Many Poseidon hashes of one arity at once: the commitment's tiles and tree
//! levels are independent, so they are hashed eight at a time with AVX-512 IFMA
//! where the CPU has it ([`crate::poseidon_ifma`], about 5× the throughput of one
//! scalar permutation), one by one with [`crate::poseidon::hash`] elsewhere
//! (older x86-64, other architectures, WebAssembly). Both give the same values.

use crate::poseidon::hash;
use ark_bn254::Fr;

/// Whether the 8-lane kernel runs on this CPU.
pub fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        crate::poseidon_ifma::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `hash(x)` for every `x` in `inputs`, in order (arity N, 1 ≤ N ≤ 12; on one
/// thread: callers split large batches across threads).
pub fn hash_many<const N: usize>(inputs: &[[Fr; N]]) -> Vec<Fr> {
    let mut out = Vec::with_capacity(inputs.len());
    #[cfg(target_arch = "x86_64")]
    if simd_available() {
        use crate::poseidon::MAX_INPUTS;
        use crate::poseidon_ifma::{permute, LANES};
        assert!(
            (1..=MAX_INPUTS).contains(&N),
            "poseidon arity {N} out of range"
        );
        let mut io = [[Fr::from(0u64); LANES]; MAX_INPUTS + 1];
        for chunk in inputs.chunks(LANES) {
            // Element 0 of the state is 0; lanes past the chunk's end hash zeros
            // and are dropped.
            for (i, row) in io[..=N].iter_mut().enumerate() {
                *row = std::array::from_fn(|lane| match (i, chunk.get(lane)) {
                    (1.., Some(x)) => x[i - 1],
                    _ => Fr::from(0u64),
                });
            }
            // SAFETY: simd_available() checked AVX-512F and IFMA.
            let hashes = unsafe { permute(N + 1, &mut io[..=N]) };
            out.extend_from_slice(&hashes[..chunk.len()]);
        }
        return out;
    }
    out.extend(inputs.iter().map(|x| hash(x)));
    out
}

/// [`hash_many`] without the 8-lane kernel (for comparisons and benchmarks).
pub fn hash_many_scalar<const N: usize>(inputs: &[[Fr; N]]) -> Vec<Fr> {
    inputs.iter().map(|x| hash(x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    fn check<const N: usize>(rng: &mut impl rand::Rng, count: usize) {
        let inputs: Vec<[Fr; N]> = (0..count)
            .map(|i| {
                std::array::from_fn(|j| match (i + j) % 7 {
                    // Edge values: 0, 1, p − 1 and small integers besides random ones.
                    0 => Fr::from(0u64),
                    1 => -Fr::from(1u64),
                    2 => Fr::from(1u64),
                    _ => Fr::rand(rng),
                })
            })
            .collect();
        let reference = light_poseidon_hashes(&inputs);
        assert_eq!(hash_many(&inputs), reference, "arity {N}");
        assert_eq!(hash_many_scalar(&inputs), reference, "arity {N}");
    }

    fn light_poseidon_hashes<const N: usize>(inputs: &[[Fr; N]]) -> Vec<Fr> {
        use light_poseidon::{Poseidon, PoseidonHasher};
        let mut h = Poseidon::<Fr>::new_circom(N).unwrap();
        inputs.iter().map(|x| h.hash(x).unwrap()).collect()
    }

    #[test]
    fn batches_equal_the_textbook_permutation_at_every_arity() {
        let mut rng = rand_chacha_free_rng();
        // The arities mpegs uses (node and video value 3, blinding 5, media 6,
        // tile digests 12) over 1,015 inputs each (five runs of 25 groups of 8 and a partial
        // one); the others over 203.
        for _ in 0..5 {
            check::<3>(&mut rng, 203);
            check::<5>(&mut rng, 203);
            check::<6>(&mut rng, 203);
            check::<12>(&mut rng, 203);
        }
        check::<1>(&mut rng, 203);
        check::<2>(&mut rng, 203);
        check::<3>(&mut rng, 203);
        check::<4>(&mut rng, 203);
        check::<5>(&mut rng, 203);
        check::<6>(&mut rng, 203);
        check::<7>(&mut rng, 203);
        check::<8>(&mut rng, 203);
        check::<9>(&mut rng, 203);
        check::<10>(&mut rng, 203);
        check::<11>(&mut rng, 203);
        check::<12>(&mut rng, 203);
        assert!(hash_many::<3>(&[]).is_empty());
    }

    fn rand_chacha_free_rng() -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(27)
    }
}
