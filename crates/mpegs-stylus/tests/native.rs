//! The verifier logic natively, with precompiles 0x06/0x07/0x08 served by revm's
//! real BN254 implementation and real proofs of the committed test keys (two
//! storage-inclusion circuits with one challenge, the table circuit with two):
//! valid proofs pass, tampered ones fail with the contract's reason, a forged
//! proof that only the proof-of-knowledge pair catches is refused (and shown to
//! pass with ρ forced to 0). Also: the transcript is `mpegs_zk::transcript` word
//! for word, the embedded keys are exactly what the generator makes from our keys
//! (and what a direct conversion gives), the field constants agree with arkworks,
//! and the error selectors are those of the Solidity verifier.

mod fixture;

use alloy_primitives::{keccak256, U256};
use alloy_sol_types::SolError;
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, Field, PrimeField};
use fixture::{storage_fixture, table_fixture, Fixture};
use mpegs_chain::stylus_vk::{module_name, rust_source};
use mpegs_chain::verifier::{fr_word, input_words, proof_words};
use mpegs_stylus::groth16::{self, Bn254, Error, Transcript, Vk, PAIRING_BYTES, PROOF_WORDS};
use mpegs_stylus::vk::{
    storage_inclusion_k2_d3_v3 as k2, storage_inclusion_k4_d9_v3 as k4, testkit_table_8 as table,
};
use mpegs_testkit::chain::{circuit_id, keys, table_example, SHAPES};
use mpegs_zk::backend::{self, vk_digest};
use mpegs_zk::transcript::{g1_words, g2_words};

/// BN254 by revm's precompiles (the same code an EVM node runs), keccak by
/// alloy-primitives.
#[derive(Default)]
struct Revm {
    gas: u64,
    calls: [usize; 3],
    keccaks: usize,
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
        self.calls[to as usize - 6] += 1;
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
    fn pairing(&mut self, input: &[u8; PAIRING_BYTES]) -> Option<bool> {
        let out: [u8; 32] = self.run(8, input)?;
        Some(U256::from_be_bytes(out) == U256::from(1))
    }
    fn keccak256(&mut self, data: &[u8]) -> [u8; 32] {
        self.keccaks += 1;
        keccak256(data).0
    }
}

fn verify<const N: usize, const C: usize>(
    vk: &Vk<N, C>,
    proof: &[U256; PROOF_WORDS],
    inputs: &[U256],
) -> Result<Revm, Error> {
    let mut revm = Revm::default();
    groth16::verify(&mut revm, vk, proof, &inputs.try_into().unwrap())?;
    Ok(revm)
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

/// The key as the contract embeds it, converted directly (not through the
/// generator's source text).
fn convert<const N: usize, const C: usize>(vk: &backend::Vk) -> Vk<N, C> {
    let w = |b: [u8; 32]| U256::from_be_bytes(b);
    let g1 = |p: &ark_bn254::G1Affine| g1_words(p).map(w);
    let g2 = |p: &ark_bn254::G2Affine| g2_words(p).map(w);
    assert_eq!(vk.statement_inputs(), N);
    assert_eq!(vk.challenges as usize, C);
    Vk {
        digest: vk_digest(vk),
        alpha: g1(&vk.alpha_g1),
        beta_neg: g2(&-vk.beta_g2),
        gamma_neg: g2(&-vk.gamma_g2),
        delta_neg: g2(&-vk.delta_g2),
        sigma_gamma: g2(&vk.sigma_gamma_g2),
        ic0: g1(&vk.ic[0]),
        ic: core::array::from_fn(|i| g1(&vk.ic[1 + i])),
        ic_challenges: core::array::from_fn(|i| g1(&vk.ic[1 + N + i])),
    }
}

fn check<const N: usize, const C: usize>(f: &Fixture, vk: &Vk<N, C>) {
    let id = &f.id;
    assert_eq!(*vk, convert::<N, C>(&f.vk), "{id}: embedded key");
    let pvk = backend::prepare(&f.vk);
    let proof = proof_words(&f.proof);
    let inputs = input_words(&f.inputs);
    assert_eq!(inputs.len(), N, "{id}");

    // The transcript is mpegs_zk's, word for word.
    let t = groth16::transcript(
        &mut Revm::default(),
        vk,
        &proof,
        &inputs.clone().try_into().unwrap(),
    );
    let digest = vk_digest(&f.vk);
    let challenges = mpegs_zk::transcript::challenges(&digest, &f.inputs, &f.proof.d, C);
    assert_eq!(
        t.challenges.to_vec(),
        challenges.iter().map(fr_word).collect::<Vec<_>>(),
        "{id}: α, β"
    );
    assert_eq!(
        t.rho,
        fr_word(&mpegs_zk::transcript::pok_weight(
            &digest, &f.inputs, &f.proof
        )),
        "{id}: ρ"
    );

    assert!(backend::verify_deterministic(&pvk, &f.inputs, &f.proof));
    let revm =
        verify(vk, &proof, &inputs).unwrap_or_else(|e| panic!("{id}: valid proof refused: {e:?}"));
    // N + C + 2 ECMUL and ECADD (inputs, challenges, D, ρ·P and ρ·D), one 5-pair
    // pairing, at EIP-1108 prices; keccak for the seed, β and ρ.
    let ops = N + C + 2;
    assert_eq!(revm.calls, [ops, ops, 1], "{id}");
    assert_eq!(
        revm.gas,
        6_150 * ops as u64 + 45_000 + 5 * 34_000,
        "{id}: precompile gas"
    );
    assert_eq!(revm.keccaks, C + 1, "{id}");
    println!("{id}: valid proof verified, {} precompile gas", revm.gas);

    let refused = |proof: &[U256; PROOF_WORDS], inputs: &[U256], what: &str, want: Error| {
        assert_eq!(verify(vk, proof, inputs).err(), Some(want), "{id}: {what}");
    };
    for i in 0..N {
        let mut bad = inputs.clone();
        bad[i] += U256::from(1);
        refused(&proof, &bad, &format!("input {i} + 1"), Error::ProofInvalid);
    }
    let mut bad = inputs.clone();
    bad[N - 1] = groth16::R;
    refused(&proof, &bad, "input = r", Error::PublicInputNotInField);
    bad[N - 1] = U256::MAX;
    refused(
        &proof,
        &bad,
        "input = 2²⁵⁶ − 1",
        Error::PublicInputNotInField,
    );

    let (other, other_inputs) = (proof_words(&f.other.0), input_words(&f.other.1));
    verify(vk, &other, &other_inputs).expect("the other statement's proof is valid");
    refused(
        &other,
        &inputs,
        "another statement's proof",
        Error::ProofInvalid,
    );
    refused(
        &proof,
        &other_inputs,
        "another statement's inputs",
        Error::ProofInvalid,
    );

    // D and P are bound to their proof: from another valid proof of the same
    // statement, alone or together, they fail.
    let reproof = proof_words(&f.reproof);
    verify(vk, &reproof, &inputs).expect("the other proof of the statement is valid");
    for (range, what) in [(8..10, "D"), (10..12, "P"), (8..12, "D and P")] {
        let mut bad = proof;
        bad[range.clone()].copy_from_slice(&reproof[range]);
        refused(
            &bad,
            &inputs,
            &format!("{what} from another proof of the statement"),
            Error::ProofInvalid,
        );
    }

    // Points off their curves, each named.
    for (word, point, what) in [
        (1, 0, "A.y + 1"),
        (3, 1, "B.x.c0 + 1"),
        (7, 2, "C.y + 1"),
        (9, 3, "D.y + 1"),
        (11, 4, "P.y + 1"),
    ] {
        let mut bad = proof;
        bad[word] += U256::from(1);
        refused(&bad, &inputs, what, Error::ProofPointNotOnCurve(point));
    }
    for (word, point, what) in [(0, 0, "A.x + p"), (8, 3, "D.x + p"), (10, 4, "P.x + p")] {
        let mut bad = proof;
        bad[word] += mpegs_stylus::field::P;
        refused(
            &bad,
            &inputs,
            &format!("{what} (same point mod p)"),
            Error::ProofPointNotOnCurve(point),
        );
    }
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
    for (range, what) in [(8..10, "D"), (10..12, "P")] {
        let mut bad = proof;
        bad[range].fill(U256::ZERO);
        refused(
            &bad,
            &inputs,
            &format!("{what} at infinity"),
            Error::ProofInvalid,
        );
    }

    // The forged proof: refused, and refused by mpegs_zk too, but it passes the
    // same pairing check with ρ = 0, i.e. without the proof-of-knowledge pair.
    let (forged, claimed) = (proof_words(&f.forged.0), input_words(&f.forged.1));
    assert_ne!(
        claimed, inputs,
        "{id}: the forgery claims another statement"
    );
    assert!(!backend::verify_deterministic(
        &pvk,
        &f.forged.1,
        &f.forged.0
    ));
    refused(
        &forged,
        &claimed,
        "forged proof (D shifted by input keys)",
        Error::ProofInvalid,
    );
    let claimed: [U256; N] = claimed.try_into().unwrap();
    let mut revm = Revm::default();
    let t = groth16::transcript(&mut revm, vk, &forged, &claimed);
    assert_ne!(t.rho, U256::ZERO);
    assert_eq!(
        groth16::pairing_check(&mut revm, vk, &forged, &claimed, &t),
        Err(Error::ProofInvalid),
        "{id}: the forgery fails with the hashed ρ"
    );
    let without_pok = Transcript {
        rho: U256::ZERO,
        ..t
    };
    assert_eq!(
        groth16::pairing_check(&mut revm, vk, &forged, &claimed, &without_pok),
        Ok(()),
        "{id}: with ρ = 0 (no proof-of-knowledge check) the forgery would pass"
    );
}

#[test]
fn valid_proofs_pass_and_tampered_ones_fail_storage_k2_d3() {
    check(&storage_fixture(0), &k2::VK);
}

#[test]
fn valid_proofs_pass_and_tampered_ones_fail_storage_k4_d9() {
    check(&storage_fixture(1), &k4::VK);
}

#[test]
fn valid_proofs_pass_and_tampered_ones_fail_two_challenges() {
    assert_eq!(table::CHALLENGES, 2);
    check(&table_fixture(), &table::VK);
}

#[test]
fn embedded_keys_match_the_generator() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/vk");
    let mut expected: Vec<_> = SHAPES
        .iter()
        .zip([k2::ID, k4::ID])
        .map(|(shape, id)| {
            assert_eq!(circuit_id(*shape), id);
            (id, keys(*shape).1)
        })
        .collect();
    let t = table_example(&[0; 8], 0);
    assert_eq!(t.id, table::ID);
    expected.push((table::ID, t.vk));
    for (id, vk) in expected {
        let path = dir.join(format!("{}.rs", module_name(id)));
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == rust_source(id, &vk),
            "{} is stale: run `cargo run --release -p mpegs-chain --example gen-stylus-vk`",
            path.display()
        );
    }
}

#[test]
fn transcript_tags_are_the_keccak_of_their_names() {
    assert_eq!(
        groth16::CHALLENGE_TAG,
        keccak256(b"mpegs.groth16.challenge.v1").0
    );
    assert_eq!(groth16::POK_TAG, keccak256(b"mpegs.groth16.pok.v1").0);
    assert_eq!(
        groth16::CHALLENGE_TAG,
        mpegs_zk::transcript::challenge_tag()
    );
    assert_eq!(groth16::POK_TAG, mpegs_zk::transcript::pok_tag());
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
    // The generated Solidity verifier declares the first two and takes the same
    // words.
    let sol = mpegs_chain::verifier::solidity(&keys(SHAPES[0]).1).unwrap();
    assert!(
        sol.contains("error ProofInvalid();") && sol.contains("error PublicInputNotInField();")
    );
    assert!(
        sol.contains("function verifyProof(uint256[12] calldata proof, uint256[4] calldata input)")
    );
    assert_eq!(mpegs_chain::verifier::PROOF_WORDS, PROOF_WORDS);
}

#[test]
fn hashes_reduce_mod_r() {
    let r = groth16::R;
    for x in [
        U256::ZERO,
        r - U256::from(1),
        r,
        r + U256::from(1),
        r * U256::from(5),
        U256::MAX,
    ] {
        assert_eq!(
            groth16::hash_scalar(&x.to_be_bytes::<32>()),
            x.reduce_mod(r),
            "{x}"
        );
    }
}
