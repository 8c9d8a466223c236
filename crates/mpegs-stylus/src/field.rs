//! Just enough BN254 base-field arithmetic to check that proof points lie on their
//! curves (G1: y² = x³ + 3; G2 over Fp2 = Fp[i]/(i² + 1): y² = x³ + 3/(9 + i)),
//! in Montgomery form with ruint's `mul_redc` (a hand-written 32-bit-limb version
//! measured about 50 % more ink in the WASM at opt-level "z").

use alloy_primitives::U256;

/// The base field modulus p.
pub const P: U256 = U256::from_limbs([
    0x3c20_8c16_d87c_fd47,
    0x9781_6a91_6871_ca8d,
    0xb850_45b6_8181_585d,
    0x3064_4e72_e131_a029,
]);

/// −p⁻¹ mod 2⁶⁴.
pub const INV: u64 = 0x87d2_0782_e486_6389;

/// 2⁵¹² mod p: multiplying by it (with `mul_redc`) enters Montgomery form.
pub const R2: U256 = U256::from_limbs([
    0xf32c_fc5b_538a_fa89,
    0xb5e7_1911_d445_01fb,
    0x47ab_1eff_0a41_7ff6,
    0x06d8_9f71_cab8_351f,
]);

/// The G2 curve constant b' = 3/(9 + i) = 27/82 − (3/82)·i, normal form (c0, c1).
pub const B2: [U256; 2] = [
    U256::from_limbs([
        0x3267_e6dc_24a1_38e5,
        0xb5b4_c5e5_59db_efa3,
        0x81be_1899_1be0_6ac3,
        0x2b14_9d40_ceb8_aaae,
    ]),
    U256::from_limbs([
        0xe4a2_bd06_85c3_15d2, // p − 3/82
        0xa74f_a084_e52d_1852,
        0xcd2c_afad_eed8_fdf4,
        0x0097_13b0_3af0_fed4,
    ]),
];

fn mont(x: U256) -> U256 {
    x.mul_redc(R2, P, INV)
}

fn mul(a: U256, b: U256) -> U256 {
    a.mul_redc(b, P, INV)
}

fn add(a: U256, b: U256) -> U256 {
    // a, b < p < 2²⁵⁴: the sum cannot overflow 256 bits.
    let s = a + b;
    if s >= P {
        s - P
    } else {
        s
    }
}

fn sub(a: U256, b: U256) -> U256 {
    if a >= b {
        a - b
    } else {
        a + (P - b)
    }
}

/// Whether (x, y), both below p, satisfies y² = x³ + 3.
pub fn g1_on_curve(x: U256, y: U256) -> bool {
    let (x, y) = (mont(x), mont(y));
    mul(y, y) == add(mul(mul(x, x), x), mont(U256::from(3)))
}

fn fp2_mul(a: [U256; 2], b: [U256; 2]) -> [U256; 2] {
    [
        sub(mul(a[0], b[0]), mul(a[1], b[1])),
        add(mul(a[0], b[1]), mul(a[1], b[0])),
    ]
}

/// Whether (x0 + x1·i, y0 + y1·i), all four below p, satisfies y² = x³ + b'.
pub fn g2_on_curve(x0: U256, x1: U256, y0: U256, y1: U256) -> bool {
    let x = [mont(x0), mont(x1)];
    let y = [mont(y0), mont(y1)];
    let x3 = fp2_mul(fp2_mul(x, x), x);
    let rhs = [add(x3[0], mont(B2[0])), add(x3[1], mont(B2[1]))];
    fp2_mul(y, y) == rhs
}
