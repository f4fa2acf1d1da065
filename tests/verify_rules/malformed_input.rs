//! Malformed input.

use super::*;

#[test]
fn a_code_of_the_wrong_digit_count_is_malformed() {
    let six = rfc_totp();
    let eight = rfc_totp_with(8, 30, 1, 1);
    let t = 1_700_000_000;
    assert_eq!(
        six.verify(&eight.code_at(t), t, None),
        Err(Rejection::Malformed(CodeError::WrongLength {
            expected: 6,
            found: 8
        }))
    );
    assert_eq!(
        eight.verify(&six.code_at(t), t, None),
        Err(Rejection::Malformed(CodeError::WrongLength {
            expected: 8,
            found: 6
        }))
    );
    // The refused 6-digit code is the last six digits of the right 8-digit code: a shorter
    // code is refused as malformed, never checked as a prefix or suffix.
    assert_eq!(
        eight.code_at(t).to_string()[2..],
        six.code_at(t).to_string()
    );
}

#[test]
fn malformed_input_is_reported_with_the_code_error() {
    let totp = rfc_totp();
    let t = 1_700_000_000;
    assert_eq!(
        totp.verify_input("12345", t, None),
        Err(Rejection::Malformed(CodeError::WrongLength {
            expected: 6,
            found: 5
        }))
    );
    assert_eq!(
        totp.verify_input("+81804", t, None),
        Err(Rejection::Malformed(CodeError::InvalidCharacter {
            position: 1
        }))
    );
    assert_eq!(
        totp.verify_input("  ", t, None),
        Err(Rejection::Malformed(CodeError::Empty))
    );
}
