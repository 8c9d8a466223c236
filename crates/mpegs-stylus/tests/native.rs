//! The verifier logic natively, with precompiles 0x06/0x07/0x08 served by revm's
//! real BN254 implementation and real proofs of both example circuits: valid proofs
//! pass, tampered ones fail with the contract's reason. Also: the embedded keys are
//! exactly what the generator makes from our keys, the field constants agree with
//! arkworks, and the error selectors are those of the Solidity verifier.

use alloy_primitives::{keccak256, U256};
use alloy_sol_types::SolError;
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, Field, PrimeField};
use mpegs_chain::stylus_vk::{module_name, rust_source};
use mpegs_chain::verifier::{input_words, proof_words};
use mpegs_stylus::groth16::{self, Bn254, Error, Vk};
use mpegs_stylus::vk::{storage_inclusion_k2_d3_v1 as k2, storage_inclusion_k4_d9_v1 as k4};
use mpegs_testkit::chain::{circuit_id, example, keys, Shape, SHAPES};

/// BN254 by revm's precompiles (the same code an EVM node runs).
#[derive(Default)]
struct Revm {
    gas: u64,
}

impl Revm {
    fn run<const N: usize>(&mut self, to: u8, input: &[u8]) -> Option<[u8; N]> {
        use revm_precompile::bn254::{run_add, run_mul, run_pair};
        let out = match to {
            6 => run_add(input, 150, u64::MAX),
            7 => run_mul(input, 6_000, u64::MAX),
            _ => run_pair(input, 34_000, 45_000, u64::MAX),
        }
        .ok()?;
        self.gas += out.gas_used;
        out.bytes.as_ref().try_into().ok()
    }
}

impl Bn254 for Revm {
    fn ec_add(&mut self, input: &[u8; 128]) -> Option<[u8; 64]> {
        self.run(6, input)
    }
    fn ec_mul(&mut self, input: &[u8; 96]) -> Option<[u8; 64]> {
        self.run(7, input)
    }
    fn pairing(&mut self, input: &[u8; 768]) -> Option<bool> {
        let out: [u8; 32] = self.run(8, input)?;
        Some(U256::from_be_bytes(out) == U256::from(1))
    }
}

fn verify<const N: usize>(vk: &Vk<N>, proof: &[U256; 8], inputs: &[U256]) -> Result<u64, Error> {
    let mut revm = Revm::default();
    groth16::verify(&mut revm, vk, proof, &inputs.try_into().unwrap())?;
    Ok(revm.gas)
}

fn word<F: PrimeField>(x: F) -> U256 {
    U256::from_be_slice(&x.into_bigint().to_bytes_be())
}

/// A point on the G2 curve outside the prime-order subgroup, in proof word order.
fn g2_outside_subgroup() -> [U256; 4] {
    let mut x = ark_bn254::Fq2::ONE;
    loop {
        if let Some(p) = ark_bn254::G2Affine::get_point_from_x_unchecked(x, true) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                return [word(p.x.c1), word(p.x.c0), word(p.y.c1), word(p.y.c0)];
            }
        }
        x += ark_bn254::Fq2::ONE;
    }
}

fn check_circuit<const N: usize>(shape: Shape, vk: &Vk<N>) {
    let ex = example(shape, 3);
    let id = &ex.id;
    let proof = proof_words(&ex.proof);
    let inputs = input_words(&ex.inputs);
    assert_eq!(inputs.len(), N, "{id}");
    let gas =
        verify(vk, &proof, &inputs).unwrap_or_else(|e| panic!("{id}: valid proof refused: {e:?}"));
    // N ECMUL + N ECADD + one 4-pair pairing, at EIP-1108 prices.
    assert_eq!(gas, 6_150 * N as u64 + 45_000 + 4 * 34_000, "{id}");

    let refused = |proof: &[U256; 8], inputs: &[U256], what: &str, want: Error| {
        assert_eq!(verify(vk, proof, inputs), Err(want), "{id}: {what}");
    };
    for i in 0..N {
        let mut bad = inputs.clone();
        bad[i] += U256::from(1);
        refused(&proof, &bad, &format!("input {i} + 1"), Error::ProofInvalid);
    }
    let mut bad = inputs.clone();
    bad[0] = groth16::R;
    refused(&proof, &bad, "input = r", Error::PublicInputNotInField);
    bad[0] = U256::MAX;
    refused(
        &proof,
        &bad,
        "input = 2²⁵⁶ − 1",
        Error::PublicInputNotInField,
    );

    let other = example(shape, 4);
    refused(
        &proof_words(&other.proof),
        &inputs,
        "another statement's proof",
        Error::ProofInvalid,
    );
    refused(
        &proof,
        &input_words(&other.inputs),
        "another statement's inputs",
        Error::ProofInvalid,
    );

    for (word, point, what) in [(1, 0, "A.y + 1"), (3, 1, "B.x.c0 + 1"), (7, 2, "C.y + 1")] {
        let mut bad = proof;
        bad[word] += U256::from(1);
        refused(&bad, &inputs, what, Error::ProofPointNotOnCurve(point));
    }
    let mut bad = proof;
    bad[0] += mpegs_stylus::field::P;
    refused(
        &bad,
        &inputs,
        "A.x + p (same point mod p)",
        Error::ProofPointNotOnCurve(0),
    );
    let mut bad = proof;
    bad[2..6].copy_from_slice(&g2_outside_subgroup());
    refused(&bad, &inputs, "B outside the subgroup", Error::ProofInvalid);
    let mut bad = proof;
    bad.swap(0, 6);
    bad.swap(1, 7);
    refused(&bad, &inputs, "A and C swapped", Error::ProofInvalid);
    let mut bad = proof;
    bad[..2].fill(U256::ZERO);
    refused(&bad, &inputs, "A at infinity", Error::ProofInvalid);
}

#[test]
fn valid_proofs_pass_and_tampered_ones_fail_storage_k2_d3() {
    check_circuit(SHAPES[0], &k2::VK);
}

#[test]
fn valid_proofs_pass_and_tampered_ones_fail_storage_k4_d9() {
    check_circuit(SHAPES[1], &k4::VK);
}

#[test]
fn embedded_keys_match_the_generator() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/vk");
    for (shape, id) in SHAPES.iter().zip([k2::ID, k4::ID]) {
        assert_eq!(circuit_id(*shape), id);
        let path = dir.join(format!("{}.rs", module_name(id)));
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == rust_source(id, &keys(*shape).1),
            "{} is stale: run `cargo run --release -p mpegs-chain --example gen-stylus-vk`",
            path.display()
        );
    }
}

#[test]
fn field_constants_agree_with_arkworks() {
    use ark_bn254::{Fq, Fr};
    use mpegs_stylus::field::{B2, INV, P, R2};
    assert_eq!(P, U256::from_be_slice(&Fq::MODULUS.to_bytes_be()));
    assert_eq!(groth16::R, U256::from_be_slice(&Fr::MODULUS.to_bytes_be()));
    assert_eq!(
        P.as_limbs()[0].wrapping_mul(INV),
        u64::MAX,
        "p·inv ≡ −1 mod 2⁶⁴"
    );
    assert_eq!(R2, word(Fq::from(2u8).pow([512u64])), "2⁵¹² mod p");
    let b = <ark_bn254::g2::Config as ark_ec::short_weierstrass::SWCurveConfig>::COEFF_B;
    assert_eq!(B2, [word(b.c0), word(b.c1)]);
    // The on-curve checks agree with arkworks on the generators and their negations.
    let g1 = ark_bn254::G1Affine::generator();
    let g2 = ark_bn254::G2Affine::generator();
    for (p, q) in [(g1, g2), (-g1, -g2)] {
        assert!(mpegs_stylus::field::g1_on_curve(word(p.x), word(p.y)));
        assert!(mpegs_stylus::field::g2_on_curve(
            word(q.x.c0),
            word(q.x.c1),
            word(q.y.c0),
            word(q.y.c1)
        ));
        assert!(!mpegs_stylus::field::g1_on_curve(
            word(p.x),
            word(p.y + Fq::ONE)
        ));
    }
}

#[test]
fn errors_have_the_solidity_verifiers_selectors() {
    let selector = |s: &str| <[u8; 4]>::try_from(&keccak256(s.as_bytes())[..4]).unwrap();
    assert_eq!(
        mpegs_stylus::ProofInvalid::SELECTOR,
        selector("ProofInvalid()")
    );
    assert_eq!(
        mpegs_stylus::PublicInputNotInField::SELECTOR,
        selector("PublicInputNotInField()")
    );
    assert_eq!(
        mpegs_stylus::ProofPointNotOnCurve::SELECTOR,
        selector("ProofPointNotOnCurve(uint8)")
    );
    // The generated Solidity verifier declares the first two.
    let sol = mpegs_chain::verifier::solidity(&keys(SHAPES[0]).1).unwrap();
    assert!(
        sol.contains("error ProofInvalid();") && sol.contains("error PublicInputNotInField();")
    );
}
