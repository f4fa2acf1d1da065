//! The published test vectors of RFC 4226 (HOTP, Appendix D) and RFC 6238 (TOTP, Appendix B).
//!
//! The tables live as plain data in `tests/vectors/`, transcribed from the RFCs. Every row is
//! checked twice: against this crate, and against an independent HMAC (the `hmac` crate), so a
//! transcription error shows up as a row that disagrees with both. The parser refuses any line
//! it does not understand and the row counts are pinned, so no row can be skipped silently.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

mod oracle;

use oracle::{oracle_hmac, oracle_truncate};
use totp_enroll::{
    OtpPolicy, otp::Algorithm, otp::Code, otp::Digits, otp::PreparedKey, otp::Rejection,
    otp::Secret, otp::Totp,
};

const HOTP_TABLE: &str = include_str!("vectors/rfc4226_hotp.txt");
const TOTP_TABLE: &str = include_str!("vectors/rfc6238_totp.txt");

/// RFC 4226 Appendix D and RFC 6238 Appendix B, SHA-1 seed.
const SEED_SHA1: &[u8] = b"12345678901234567890";
/// RFC 6238 Appendix A/B, SHA-256 seed (32 bytes).
const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
/// RFC 6238 Appendix A/B, SHA-512 seed (64 bytes).
const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

// ---------------------------------------------------------------------------------------------
// Parsing the data files: strict, with the line number in every error.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
struct HotpRow {
    count: u64,
    hmac: Vec<u8>,
    truncated_hex: u32,
    truncated_dec: u32,
    hotp: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct TotpRow {
    time: u64,
    date: String,
    clock: String,
    step: u64,
    totp: String,
    mode: Algorithm,
}

/// Data lines with their 1-based line numbers: everything but blank lines and `#` comments.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(n, line)| (n, line.split_whitespace().collect()))
}

fn decimal_digits(field: &str, len: usize, line: usize) -> Result<String, String> {
    if field.len() == len && field.bytes().all(|b| b.is_ascii_digit()) {
        Ok(field.to_owned())
    } else {
        Err(format!(
            "line {line}: {field:?} is not {len} decimal digits"
        ))
    }
}

fn parse_hex_bytes(field: &str, line: usize) -> Result<Vec<u8>, String> {
    if !field.len().is_multiple_of(2) {
        return Err(format!("line {line}: odd-length hex {field:?}"));
    }
    (0..field.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&field[i..i + 2], 16)
                .map_err(|e| format!("line {line}: bad hex {field:?}: {e}"))
        })
        .collect()
}

fn parse_hotp_table(text: &str) -> Result<Vec<HotpRow>, String> {
    data_lines(text)
        .map(|(line, fields)| {
            let [count, hmac, trunc, dec, hotp] = fields[..] else {
                return Err(format!(
                    "line {line}: expected 5 fields, found {}",
                    fields.len()
                ));
            };
            let hmac = parse_hex_bytes(hmac, line)?;
            if hmac.len() != 20 {
                return Err(format!("line {line}: an HMAC-SHA-1 value has 20 bytes"));
            }
            Ok(HotpRow {
                count: count
                    .parse()
                    .map_err(|e| format!("line {line}: count {count:?}: {e}"))?,
                hmac,
                truncated_hex: u32::from_str_radix(trunc, 16)
                    .map_err(|e| format!("line {line}: truncated hex {trunc:?}: {e}"))?,
                truncated_dec: dec
                    .parse()
                    .map_err(|e| format!("line {line}: truncated decimal {dec:?}: {e}"))?,
                hotp: decimal_digits(hotp, 6, line)?,
            })
        })
        .collect()
}

fn parse_totp_table(text: &str) -> Result<Vec<TotpRow>, String> {
    data_lines(text)
        .map(|(line, fields)| {
            let [time, date, clock, step, totp, mode] = fields[..] else {
                return Err(format!(
                    "line {line}: expected 6 fields, found {}",
                    fields.len()
                ));
            };
            if step.len() != 16 {
                return Err(format!("line {line}: step {step:?} is not 16 hex digits"));
            }
            let mode = match mode {
                "SHA1" => Algorithm::Sha1,
                "SHA256" => Algorithm::Sha256,
                "SHA512" => Algorithm::Sha512,
                other => return Err(format!("line {line}: unknown mode {other:?}")),
            };
            Ok(TotpRow {
                time: time
                    .parse()
                    .map_err(|e| format!("line {line}: time {time:?}: {e}"))?,
                date: date.to_owned(),
                clock: clock.to_owned(),
                step: u64::from_str_radix(step, 16)
                    .map_err(|e| format!("line {line}: step {step:?}: {e}"))?,
                totp: decimal_digits(totp, 8, line)?,
                mode,
            })
        })
        .collect()
}

fn hotp_rows() -> Vec<HotpRow> {
    parse_hotp_table(HOTP_TABLE).unwrap_or_else(|e| panic!("rfc4226_hotp.txt: {e}"))
}

fn totp_rows() -> Vec<TotpRow> {
    parse_totp_table(TOTP_TABLE).unwrap_or_else(|e| panic!("rfc6238_totp.txt: {e}"))
}

fn seed_for(mode: Algorithm) -> &'static [u8] {
    match mode {
        Algorithm::Sha1 => SEED_SHA1,
        Algorithm::Sha256 => SEED_SHA256,
        Algorithm::Sha512 => SEED_SHA512,
        other => panic!("no RFC 6238 seed for {other:?}"),
    }
}

fn totp_for(mode: Algorithm, digits: u32) -> Totp {
    let secret = Secret::from_bytes(seed_for(mode)).unwrap();
    let policy = OtpPolicy::builder("RFC 6238")
        .algorithm(mode)
        .digits(digits)
        .period(30)
        .build()
        .unwrap();
    Totp::new(&secret, &policy)
}

/// Proleptic Gregorian civil date from days since 1970-01-01 (H. Hinnant's `civil_from_days`),
/// used only to check the transcription of the RFC's UTC column.
fn utc_of(unix_seconds: u64) -> (String, String) {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// The data files themselves.
// ---------------------------------------------------------------------------------------------

#[test]
fn rfc4226_table_has_exactly_ten_rows_for_counters_zero_to_nine_in_order() {
    let rows = hotp_rows();
    assert_eq!(rows.len(), 10);
    let counters: Vec<u64> = rows.iter().map(|r| r.count).collect();
    assert_eq!(counters, (0..10).collect::<Vec<u64>>());
}

#[test]
fn rfc6238_table_has_exactly_eighteen_rows_six_times_by_three_modes() {
    let rows = totp_rows();
    assert_eq!(rows.len(), 18);
    let times = [
        59,
        1_111_111_109,
        1_111_111_111,
        1_234_567_890,
        2_000_000_000,
        20_000_000_000,
    ];
    let modes = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];
    let expected: Vec<(u64, Algorithm)> = times
        .iter()
        .flat_map(|&t| modes.iter().map(move |&m| (t, m)))
        .collect();
    let found: Vec<(u64, Algorithm)> = rows.iter().map(|r| (r.time, r.mode)).collect();
    assert_eq!(found, expected);
}

#[test]
fn rfc_seeds_are_20_32_and_64_ascii_bytes() {
    assert_eq!(SEED_SHA1.len(), 20);
    assert_eq!(SEED_SHA256.len(), 32);
    assert_eq!(SEED_SHA512.len(), 64);
    assert_eq!(&SEED_SHA256[..20], SEED_SHA1);
    assert_eq!(&SEED_SHA512[..32], SEED_SHA256);
}

#[test]
fn a_vector_line_with_a_missing_field_fails_the_parse_loudly() {
    let text = "# header\n0 cc93cf18508d94934c64b65d8ba7667fb7cde4b0 4c93cf18 1284755224\n";
    let err = parse_hotp_table(text).unwrap_err();
    assert!(err.contains("line 2"), "{err}");
    let text = "59 1970-01-01 00:00:59 0000000000000001 94287082\n";
    assert!(parse_totp_table(text).unwrap_err().contains("line 1"));
}

#[test]
fn a_vector_line_with_an_extra_field_fails_the_parse_loudly() {
    let text = "59 1970-01-01 00:00:59 0000000000000001 94287082 SHA1 extra\n";
    assert!(parse_totp_table(text).is_err());
    let text = "0 cc93cf18508d94934c64b65d8ba7667fb7cde4b0 4c93cf18 1284755224 755224 x\n";
    assert!(parse_hotp_table(text).is_err());
}

#[test]
fn a_vector_line_with_a_garbled_value_fails_the_parse_loudly() {
    for bad in [
        "x 1970-01-01 00:00:59 0000000000000001 94287082 SHA1",
        "59 1970-01-01 00:00:59 000000000000000G 94287082 SHA1",
        "59 1970-01-01 00:00:59 00000001 94287082 SHA1",
        "59 1970-01-01 00:00:59 0000000000000001 9428708 SHA1",
        "59 1970-01-01 00:00:59 0000000000000001 9428708x SHA1",
        "59 1970-01-01 00:00:59 0000000000000001 94287082 MD5",
    ] {
        assert!(parse_totp_table(bad).is_err(), "{bad:?} was accepted");
    }
    for bad in [
        "0 cc93cf18508d94934c64b65d8ba7667fb7cde4b 4c93cf18 1284755224 755224",
        "0 zz93cf18508d94934c64b65d8ba7667fb7cde4b0 4c93cf18 1284755224 755224",
        "0 cc93cf18508d94934c64b65d8ba7667fb7cde4b0 4c93cf1g 1284755224 755224",
        "0 cc93cf18508d94934c64b65d8ba7667fb7cde4b0 4c93cf18 12847552x4 755224",
        "0 cc93cf18508d94934c64b65d8ba7667fb7cde4b0 4c93cf18 1284755224 75522",
    ] {
        assert!(parse_hotp_table(bad).is_err(), "{bad:?} was accepted");
    }
}

#[test]
fn a_table_with_a_malformed_row_does_not_yield_its_other_rows() {
    let mut text = HOTP_TABLE.to_owned();
    text.push_str("10 garbage\n");
    assert!(parse_hotp_table(&text).is_err());
    let mut text = TOTP_TABLE.to_owned();
    text.push_str("59 1970-01-01\n");
    assert!(parse_totp_table(&text).is_err());
}

// ---------------------------------------------------------------------------------------------
// Transcription checks against the independent oracle.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_rfc4226_row_agrees_with_the_independent_hmac_oracle() {
    for row in hotp_rows() {
        let mac = oracle_hmac(Algorithm::Sha1, SEED_SHA1, row.count);
        assert_eq!(mac, row.hmac, "HMAC of counter {}", row.count);
        let truncated = oracle_truncate(&mac);
        assert_eq!(
            truncated, row.truncated_hex,
            "truncated hex, counter {}",
            row.count
        );
        assert_eq!(
            truncated, row.truncated_dec,
            "truncated decimal, counter {}",
            row.count
        );
        assert_eq!(
            format!("{:06}", truncated % 1_000_000),
            row.hotp,
            "HOTP, counter {}",
            row.count
        );
    }
}

#[test]
fn every_rfc6238_row_agrees_with_the_independent_hmac_oracle_and_the_calendar() {
    for row in totp_rows() {
        assert_eq!(row.step, row.time / 30, "step at {}", row.time);
        let mac = oracle_hmac(row.mode, seed_for(row.mode), row.step);
        let code = oracle_truncate(&mac) % 100_000_000;
        assert_eq!(
            format!("{code:08}"),
            row.totp,
            "{:?} at {}",
            row.mode,
            row.time
        );
        assert_eq!(utc_of(row.time), (row.date.clone(), row.clock.clone()));
    }
}

// ---------------------------------------------------------------------------------------------
// The crate against the vectors.
// ---------------------------------------------------------------------------------------------

#[test]
fn prepared_key_truncation_gives_every_rfc4226_intermediate_value() {
    let key = PreparedKey::new(&Secret::from_bytes(SEED_SHA1).unwrap(), Algorithm::Sha1);
    for row in hotp_rows() {
        assert_eq!(
            key.truncated(row.count),
            row.truncated_dec,
            "counter {}",
            row.count
        );
    }
}

#[test]
fn prepared_key_hotp_gives_every_rfc4226_value() {
    let key = PreparedKey::new(&Secret::from_bytes(SEED_SHA1).unwrap(), Algorithm::Sha1);
    for row in hotp_rows() {
        let code = key.hotp(row.count, Digits::SIX);
        assert_eq!(code.to_string(), row.hotp, "counter {}", row.count);
        assert_eq!(code.digits(), Digits::SIX);
        assert_eq!(code, Code::parse(&row.hotp, Digits::SIX).unwrap());
    }
}

#[test]
fn totp_step_at_gives_every_rfc6238_step() {
    for row in totp_rows() {
        let totp = totp_for(row.mode, 8);
        assert_eq!(totp.step_at(row.time), row.step, "step at {}", row.time);
        let start = totp.step_start(row.step).unwrap();
        assert!(start <= row.time && row.time < start + 30);
    }
}

#[test]
fn totp_code_at_gives_every_rfc6238_eight_digit_value() {
    for row in totp_rows() {
        let totp = totp_for(row.mode, 8);
        assert_eq!(totp.prepared_key().algorithm(), row.mode);
        let code = totp.code_at(row.time);
        assert_eq!(code.to_string(), row.totp, "{:?} at {}", row.mode, row.time);
        assert_eq!(totp.code_at_step(row.step).to_string(), row.totp);
    }
}

#[test]
fn every_rfc6238_code_verifies_at_its_own_time_in_its_own_step() {
    for row in totp_rows() {
        let totp = totp_for(row.mode, 8);
        let code = Code::parse(&row.totp, Digits::EIGHT).unwrap();
        let verified = totp.verify(&code, row.time, None).unwrap();
        assert_eq!(verified.step(), row.step, "{:?} at {}", row.mode, row.time);
        assert_eq!(verified.drift(), 0);
        let typed = format!("{} {}", &row.totp[..4], &row.totp[4..]);
        assert_eq!(totp.verify_input(&typed, row.time, None), Ok(verified));
    }
}

#[test]
fn every_rfc6238_code_is_refused_as_replayed_once_its_step_is_used() {
    for row in totp_rows() {
        let totp = totp_for(row.mode, 8);
        let code = Code::parse(&row.totp, Digits::EIGHT).unwrap();
        assert_eq!(
            totp.verify(&code, row.time, Some(row.step)),
            Err(Rejection::Replayed),
            "{:?} at {}",
            row.mode,
            row.time
        );
        assert_eq!(
            totp.verify(&code, row.time, Some(row.step - 1))
                .map(|v| v.step()),
            Ok(row.step)
        );
    }
}

#[test]
fn six_digit_codes_are_the_last_six_digits_of_the_rfc6238_values() {
    for row in totp_rows() {
        let totp = totp_for(row.mode, 6);
        assert_eq!(totp.code_at(row.time).to_string(), row.totp[2..]);
    }
}
