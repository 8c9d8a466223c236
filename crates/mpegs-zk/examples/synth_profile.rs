use ark_bn254::Fr;
use mpegs_zk::{poseidon, range, Builder, ConstraintSystem, Num};
use std::time::Instant;
fn main() {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let b = Builder::new(cs.clone());
    let t = Instant::now();
    let vals: Vec<Option<u8>> = (0..98304).map(|i| Some(i as u8)).collect();
    let bytes = range::witness_bytes(&b, &vals).unwrap();
    println!(
        "witness 98304 bytes: {:?} ({} constraints)",
        t.elapsed(),
        cs.num_constraints()
    );
    let nums: Vec<Num> = bytes.iter().take(12 * 31).map(|v| v.num.clone()).collect();
    let packed = mpegs_zk::commitment::pack(&nums);
    let t = Instant::now();
    let n0 = cs.num_constraints();
    for _ in 0..40 {
        poseidon::hash(&b, &packed[..12]).unwrap();
    }
    println!(
        "40 poseidon(12): {:?} ({} constraints)",
        t.elapsed(),
        cs.num_constraints() - n0
    );
}
