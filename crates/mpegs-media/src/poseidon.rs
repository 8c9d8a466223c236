//! Native Poseidon over BN254 with circomlib's parameters (via `light-poseidon`),
//! plus the domain-separation tags every mpegs hash starts with.

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use light_poseidon::{Poseidon, PoseidonHasher};
use std::cell::RefCell;

/// Widest instance used: 12 inputs (state width 13), the cheapest per absorbed byte
/// among the circomlib widths `light-poseidon` ships constants for.
pub const MAX_INPUTS: usize = 12;

/// Domain tag of a tile digest.
pub const TAG_TILE: &[u8] = b"mpegs.tile.v1";
/// Domain tag of a Merkle node.
pub const TAG_NODE: &[u8] = b"mpegs.node.v1";
/// Domain tag of a media commitment (header + root).
pub const TAG_MEDIA: &[u8] = b"mpegs.media.v1";

/// A tag as a field element: the ASCII bytes read as a big-endian integer.
pub fn tag(bytes: &[u8]) -> Fr {
    Fr::from_be_bytes_mod_order(bytes)
}

thread_local! {
    static HASHERS: RefCell<Vec<Option<Poseidon<Fr>>>> = const { RefCell::new(vec![]) };
}

/// circomlib `Poseidon(n)` of `inputs` (1 ≤ n ≤ 12).
///
/// # Panics
/// If `inputs` is empty or longer than [`MAX_INPUTS`]; every caller in mpegs passes a
/// fixed, in-range arity.
pub fn hash(inputs: &[Fr]) -> Fr {
    let n = inputs.len();
    assert!(
        (1..=MAX_INPUTS).contains(&n),
        "poseidon arity {n} out of range"
    );
    HASHERS.with(|cell| {
        let mut hashers = cell.borrow_mut();
        if hashers.len() <= n {
            hashers.resize_with(n + 1, || None);
        }
        let hasher = hashers[n]
            .get_or_insert_with(|| Poseidon::<Fr>::new_circom(n).expect("arity checked above"));
        hasher.hash(inputs).expect("arity checked above")
    })
}

/// `0x`-prefixed, 64-digit big-endian hex of a field element.
pub fn fr_to_hex(x: &Fr) -> String {
    format!("0x{}", hex_encode(&x.into_bigint().to_bytes_be()))
}

/// Parses a `0x`-prefixed big-endian hex field element, refusing values ≥ the modulus
/// (so every element has exactly one spelling).
pub fn fr_from_hex(s: &str) -> Result<Fr, String> {
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| format!("field element '{s}' must start with 0x"))?;
    if digits.is_empty() || digits.len() > 64 {
        return Err(format!("field element '{s}' must have 1 to 64 hex digits"));
    }
    let padded = format!("{digits:0>64}");
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&padded[2 * i..2 * i + 2], 16)
            .map_err(|_| format!("field element '{s}' is not hex"))?;
    }
    let x = Fr::from_be_bytes_mod_order(&bytes);
    if x.into_bigint().to_bytes_be() != bytes {
        return Err(format!(
            "field element '{s}' is not below the BN254 modulus"
        ));
    }
    Ok(x)
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_modulus_check() {
        let x = hash(&[Fr::from(1u64), Fr::from(2u64)]);
        assert_eq!(fr_from_hex(&fr_to_hex(&x)).unwrap(), x);
        let modulus = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
        assert!(fr_from_hex(modulus).is_err());
        assert!(fr_from_hex("12").is_err());
        assert!(fr_from_hex("0xzz").is_err());
    }
}
