//! Properties.

use super::*;

fn algorithm_strategy() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

/// Times from everywhere, with the edges (the epoch, 2^32, `u64::MAX`) well represented.
fn time_strategy() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0u64..2_000,
        1_600_000_000u64..2_000_000_000,
        (1u64 << 32) - 1_000..(1u64 << 32) + 1_000,
        u64::MAX - 10_000..=u64::MAX,
        u64::MAX - 1_200..=u64::MAX,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn prepared_key_agrees_with_the_hmac_oracle_for_random_keys_and_counters(
        key in proptest::collection::vec(any::<u8>(), 10..=128),
        algorithm in algorithm_strategy(),
        counter in any::<u64>(),
        digits in 6u32..=8,
    ) {
        let secret = Secret::from_bytes_legacy(&key).unwrap();
        let prepared = PreparedKey::new(&secret, algorithm);
        let expected = oracle_truncated(algorithm, &key, counter);
        prop_assert_eq!(prepared.truncated(counter), expected);
        let digits = Digits::new(digits).unwrap();
        prop_assert_eq!(
            prepared.hotp(counter, digits),
            code(expected % digits.modulus(), digits)
        );
    }

    #[test]
    fn a_code_verifies_exactly_when_its_step_is_inside_the_window(
        code_time in time_strategy(),
        delta_steps in -6i64..=6,
        delta_seconds in 0u64..600,
        period in 5u64..=600,
        behind in 0u32..=3,
        ahead in 0u32..=3,
        algorithm in algorithm_strategy(),
    ) {
        let totp = Totp::new(
            &Secret::from_bytes(RFC_SEED).unwrap(),
            &policy(algorithm, 8, period, behind, ahead),
        );
        let code_step = totp.step_at(code_time);
        // A verification time some whole steps away, anywhere inside its own step.
        let Some(now_step) = code_step.checked_add_signed(delta_steps) else { return Ok(()) };
        let Some(now) = totp.step_start(now_step).and_then(|s| s.checked_add(delta_seconds % period)) else {
            return Ok(());
        };
        prop_assert_eq!(totp.step_at(now), now_step);
        let submitted = totp.code_at(code_time);
        let result = totp.verify(&submitted, now, None);
        let offset = -delta_steps;
        if (-i64::from(behind)..=i64::from(ahead)).contains(&offset) {
            let v = result.unwrap();
            // Its own step, or a larger one with the same digits.
            prop_assert!(v.step() >= code_step);
            prop_assert_eq!(totp.code_at_step(v.step()), submitted);
            prop_assert_eq!(i128::from(v.step()) - i128::from(now_step), i128::from(v.drift()));
        } else {
            match result {
                Err(e) => prop_assert_eq!(e, Rejection::WrongCode),
                // Only another step of the window with the same digits may accept it.
                Ok(v) => {
                    prop_assert_ne!(v.step(), code_step);
                    prop_assert_eq!(totp.code_at_step(v.step()), submitted);
                }
            }
        }
    }

    #[test]
    fn verify_never_panics_and_matches_the_reference_model(
        key in proptest::collection::vec(any::<u8>(), 16..64),
        algorithm in algorithm_strategy(),
        digits in 6u32..=8,
        period in 5u64..=600,
        behind in 0u32..=10,
        ahead in 0u32..=10,
        time in time_strategy(),
        last_kind in 0u8..4,
        last_raw in any::<u64>(),
        last_offset in -12i64..=12,
        code_kind in 0u8..3,
        code_raw in any::<u32>(),
        code_offset in -12i64..=12,
    ) {
        let policy = policy(algorithm, digits, period, behind, ahead);
        let totp = Totp::new(&Secret::from_bytes(&key).unwrap(), &policy);
        let digits = policy.digits();
        let now_step = totp.step_at(time);
        let last_used = match last_kind {
            0 => None,
            1 => Some(last_raw),
            _ => Some(now_step.saturating_add_signed(last_offset)),
        };
        // Mostly the code of a step near now, so that acceptance and replay are exercised.
        let submitted = match code_kind {
            0 => code(code_raw % digits.modulus(), digits),
            _ => totp.code_at_step(now_step.saturating_add_signed(code_offset)),
        };

        let result = totp.verify(&submitted, time, last_used);
        let expected = reference_verify(algorithm, &key, &policy, &submitted, time, last_used);
        prop_assert_eq!(outcome(result), expected);

        if let Ok(v) = result {
            // Never a step at or before the last used one.
            prop_assert!(last_used.is_none_or(|last| v.step() > last));
            // Always inside [now_step - behind, now_step + ahead].
            let lowest = i128::from(now_step) - i128::from(policy.window().behind());
            let highest = i128::from(now_step) + i128::from(policy.window().ahead());
            prop_assert!((lowest..=highest).contains(&i128::from(v.step())));
            prop_assert_eq!(i128::from(v.step()) - i128::from(now_step), i128::from(v.drift()));
            // A step that exists in time, whose code is the submitted one.
            prop_assert!(totp.step_start(v.step()).is_some());
            prop_assert_eq!(totp.code_at_step(v.step()), submitted);
        }
    }
}
