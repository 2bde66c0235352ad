//! SM2 (over SM3, default ID) and Ed25519 signing and verification on one core, in one run,
//! so the two are compared on the same machine at the same moment (issue 18). Messages of
//! a card's signing input size. Prints operations per second and SM2 as a share of Ed25519.
//!
//!     cargo bench --bench sm2_sign_verify [-- MESSAGE_BYTES SECONDS]

use std::hint::black_box;
use std::time::{Duration, Instant};

fn rate(secs: u64, mut round: impl FnMut() -> u64) -> f64 {
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(200) {
        round();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        n += round();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mut nums = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<u64>().ok());
    let len = nums.next().unwrap_or(400) as usize;
    let secs = nums.next().unwrap_or(3);
    let msg = vec![b'e'; len];

    let ed = {
        use ed25519_dalek::{Signer as _, SigningKey};
        let key = SigningKey::from_bytes(&[42; 32]);
        let public = key.verifying_key();
        let sig = key.sign(&msg);
        let sign = rate(secs, || {
            for _ in 0..10 {
                black_box(key.sign(black_box(&msg)));
            }
            10
        });
        let verify = rate(secs, || {
            for _ in 0..10 {
                assert!(
                    public
                        .verify_strict(black_box(&msg), black_box(&sig))
                        .is_ok()
                );
            }
            10
        });
        (sign, verify)
    };
    let sm2 = {
        use sm2::dsa::signature::{Signer as _, Verifier as _};
        let key =
            sm2::dsa::SigningKey::from_slice("1234567812345678", &[42; 32]).expect("a scalar");
        let public = key.verifying_key().clone();
        let sig: sm2::dsa::Signature = key.sign(&msg);
        let sign = rate(secs, || {
            for _ in 0..10 {
                let s: sm2::dsa::Signature = key.sign(black_box(&msg));
                black_box(s);
            }
            10
        });
        let verify = rate(secs, || {
            for _ in 0..10 {
                assert!(public.verify(black_box(&msg), black_box(&sig)).is_ok());
            }
            10
        });
        (sign, verify)
    };
    println!("{len}-byte messages, one core, {secs} s each");
    println!("{:<8} {:>12} {:>12}", "", "sign/s", "verify/s");
    println!("{:<8} {:>12.0} {:>12.0}", "Ed25519", ed.0, ed.1);
    println!("{:<8} {:>12.0} {:>12.0}", "SM2", sm2.0, sm2.1);
    println!(
        "SM2 / Ed25519: sign {:.3}, verify {:.3}",
        sm2.0 / ed.0,
        sm2.1 / ed.1
    );
}
