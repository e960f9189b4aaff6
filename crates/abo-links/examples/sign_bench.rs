//! Rough cost of signing and verifying link tokens.
//!
//! `cargo run --release -p abo-links --example sign_bench`
//!
//! A quick measurement, not a benchmark suite: it reports the best of a few rounds so a
//! noisy machine (shared VMs) disturbs it less.

use std::hint::black_box;
use std::time::Instant;

use abo_links::{
    DEFAULT_LINK_TTL_SECS, Keyring, LinkClaims, LinkKey, LinkPolicy, Purpose, hosted_url,
    resolve_portal_link, signed_hosted_url,
};

fn best_ns_per_op(rounds: usize, iters: u32, mut f: impl FnMut(u32)) -> f64 {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for i in 0..iters {
                f(i);
            }
            start.elapsed().as_nanos() as f64 / f64::from(iters)
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let ring = Keyring::new(&LinkKey {
        kid: 1,
        secret: [0x42; 32],
    });
    let base = LinkClaims::new(
        7,
        233_700,
        Purpose::Charge,
        1_780_000_000,
        DEFAULT_LINK_TTL_SECS,
        3,
    )
    .with_target(3_736_352);
    let token = ring.sign(&base);
    let iters = 200_000;

    let sign = best_ns_per_op(5, iters, |i| {
        let c = LinkClaims {
            customer_id: base.customer_id + i64::from(i),
            ..base
        };
        black_box(ring.sign(black_box(&c)));
    });
    let mut buf = String::with_capacity(256);
    let sign_into = best_ns_per_op(5, iters, |i| {
        let c = LinkClaims {
            customer_id: base.customer_id + i64::from(i),
            ..base
        };
        buf.clear();
        ring.sign_into(black_box(&c), &mut buf);
        black_box(&buf);
    });
    let url = best_ns_per_op(5, iters, |_| {
        black_box(signed_hosted_url(
            "https://abo.example",
            &ring,
            black_box(&base),
        ));
    });
    let verify = best_ns_per_op(5, iters, |_| {
        black_box(ring.verify(black_box(&token), 1_780_000_000).unwrap());
    });
    let policy = LinkPolicy::new("abo.example");
    let hosted = hosted_url("https://abo.example", Purpose::Charge, &token);
    let resolve = best_ns_per_op(5, iters, |_| {
        black_box(resolve_portal_link(Some(black_box(&hosted)), "f", &policy));
    });

    println!("token: {token} ({} chars)", token.len());
    println!("sign            {sign:8.0} ns/op");
    println!("sign_into       {sign_into:8.0} ns/op");
    println!("signed_hosted   {url:8.0} ns/op");
    println!("verify          {verify:8.0} ns/op");
    println!("resolve (merch) {resolve:8.0} ns/op");
}
