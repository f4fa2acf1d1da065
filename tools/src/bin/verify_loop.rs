//! Runs `Totp::verify` N times with a correct or a wrong code, for instruction counting:
//!
//! ```sh
//! cargo build -p totp-enroll-tools --release --bin verify_loop
//! for mode in accept reject; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/verify_loop $mode 10000 2>&1 | grep refs
//! done
//! ```
//!
//! Equal instruction counts for both modes (up to the few instructions of building the
//! result) are the deterministic form of the constant-time promise: every candidate of the
//! window is computed and compared whatever the code is.

use std::error::Error;
use std::hint::black_box;

use totp_enroll::{OtpPolicy, otp::Code, otp::Digits, otp::Secret, otp::Totp};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "reject".into());
    let rounds: u32 = args.next().map_or(Ok(10_000), |n| n.parse())?;
    let secret = Secret::from_bytes(b"12345678901234567890")?;
    let totp = Totp::new(&secret, &OtpPolicy::new("Example")?);
    let now = 1_111_111_109;
    let valid = totp.code_at(now);
    let code = match mode.as_str() {
        "accept" => valid,
        "reject" => {
            let wrong = (0..1_000_000u32)
                .map(|n| format!("{n:06}"))
                .find(|c| {
                    (-1..=1).all(|d: i64| {
                        totp.code_at_step(totp.step_at(now).saturating_add_signed(d))
                            .to_string()
                            != *c
                    })
                })
                .ok_or("no wrong code")?;
            Code::parse(&wrong, Digits::SIX)?
        }
        other => return Err(format!("mode must be accept or reject, not {other}").into()),
    };
    let mut accepted = 0u32;
    for _ in 0..rounds {
        if black_box(&totp)
            .verify(black_box(&code), black_box(now), black_box(None))
            .is_ok()
        {
            accepted = accepted.saturating_add(1);
        }
    }
    println!("{mode}: {accepted} of {rounds} accepted");
    Ok(())
}
