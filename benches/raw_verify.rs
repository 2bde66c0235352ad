//! Raw Ed25519 verification on one core: the ceiling VerifyCard is measured against.
//! `raw_verify [MESSAGE_BYTES] [SECONDS]` prints single verifies per second
//! (ed25519-dalek `verify_strict` on a pre-parsed key, as the gateway does);
//! `raw_verify --batch N [MESSAGE_BYTES] [SECONDS]` prints signatures per second verified with
//! `verify_batch` in batches of N under one key.
//! `raw_verify --sm2 [MESSAGE_BYTES] [SECONDS]` prints single SM2 verifies per second (the
//! `sm2` crate on a pre-parsed key with the default ID, as the gateway checks SM2 cards).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn rate(secs: u64, mut round: impl FnMut() -> u64) -> f64 {
    // A short warm-up, then whole rounds until the time is up.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(200) {
        round();
    }
    let deadline = Duration::from_secs(secs);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < deadline {
        n += round();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let batch = match args.iter().position(|a| a == "--batch") {
        Some(i) => {
            let n = args.get(i + 1).and_then(|a| a.parse().ok()).unwrap_or(64);
            args.drain(i..(i + 2).min(args.len()));
            Some(n)
        }
        None => None,
    };
    let sm2 = args.iter().any(|a| a == "--sm2");
    // `cargo bench` passes --bench; ignore flags.
    let mut nums = args.iter().filter_map(|a| a.parse::<u64>().ok());
    let len = nums.next().unwrap_or(400) as usize;
    let secs = nums.next().unwrap_or(3);
    let key = SigningKey::from_bytes(&[42; 32]);
    let public: VerifyingKey = key.verifying_key();
    let per_sec = match batch {
        None if sm2 => {
            use sm2::dsa::signature::{Signer as _, Verifier as _};
            let key =
                sm2::dsa::SigningKey::from_slice("1234567812345678", &[42; 32]).expect("a scalar");
            let public = key.verifying_key().clone();
            let msg = vec![b'e'; len];
            let sig: sm2::dsa::Signature = key.sign(&msg);
            rate(secs, || {
                for _ in 0..10 {
                    let ok = public.verify(black_box(&msg), black_box(&sig));
                    assert!(black_box(ok).is_ok());
                }
                10
            })
        }
        None => {
            let msg = vec![b'e'; len];
            let sig = key.sign(&msg);
            rate(secs, || {
                for _ in 0..100 {
                    let ok = public.verify_strict(black_box(&msg), black_box(&sig));
                    assert!(black_box(ok).is_ok());
                }
                100
            })
        }
        Some(n) => {
            let msgs: Vec<Vec<u8>> = (0..n)
                .map(|i| {
                    let mut m = vec![b'e'; len];
                    m[0] = i as u8;
                    m
                })
                .collect();
            let sigs: Vec<Signature> = msgs.iter().map(|m| key.sign(m)).collect();
            let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
            let keys = vec![public; n];
            rate(secs, || {
                let ok = ed25519_dalek::verify_batch(black_box(&refs), &sigs, &keys);
                assert!(black_box(ok).is_ok());
                n as u64
            })
        }
    };
    println!("{per_sec:.0}");
}
