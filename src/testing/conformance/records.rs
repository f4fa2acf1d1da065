//! [`Check::Crud`], [`Check::VersionConflicts`] and [`Check::RecordRoundTrip`]: rows
//! written, refused and read back exactly.

use rand::TryRngCore;
use rand::rngs::OsRng;

use crate::account::AccountId;
use crate::keys::{KeyRing, SealedSecret};
use crate::lifecycle::authenticator::Authenticator;
use crate::lifecycle::enrollment::{Enrollment, RecordStatus, RecoveryHashes};
use crate::lifecycle::throttle::ThrottleState;
use crate::otp::policy::OtpParams;
use crate::otp::policy::{Algorithm, OtpPolicy};
use crate::otp::secret::Secret;
use crate::provision::uri::KeyUri;
use crate::store::Store;

use super::helpers::*;
use super::support::*;
use super::*;

/// Records of every status and shape, sealed for `account`.
pub(super) fn sample_records(
    account: &AccountId,
) -> Result<Vec<(&'static str, Enrollment)>, String> {
    let keys = KeyRing::new(7, random_key()?);
    let seal = |len: usize| -> Result<_, String> {
        let mut bytes = vec![0u8; len];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| format!("random: {e}"))?;
        let secret = Secret::from_bytes_legacy(&bytes).map_err(|e| format!("secret: {e}"))?;
        keys.seal(&secret, account)
            .map_err(|e| format!("seal: {e}"))
    };
    let params = |algorithm: Algorithm, digits: u32, period: u64| -> Result<OtpParams, String> {
        let policy = OtpPolicy::builder(ISSUER)
            .algorithm(algorithm)
            .digits(digits)
            .period(period)
            .build()
            .map_err(|e| format!("policy: {e}"))?;
        Ok(OtpParams::from_policy(&policy))
    };
    let long_label = "顧".repeat(KeyUri::MAX_ACCOUNT_BYTES / 3);
    let throttled = ThrottleState {
        failures: 4,
        locked: false,
        backoff_until: START.saturating_add(60),
    };
    let locked = ThrottleState {
        failures: u32::MAX,
        locked: true,
        backoff_until: u64::MAX,
    };
    Ok(vec![
        ("not registered", Enrollment::not_registered()),
        (
            "not registered, throttled",
            Enrollment {
                status: RecordStatus::NotRegistered,
                throttle: throttled,
                ..Enrollment::not_registered()
            },
        ),
        (
            "pending",
            Enrollment {
                status: RecordStatus::Pending {
                    secret: seal(Secret::DEFAULT_BYTES)?,
                    params: params(Algorithm::Sha1, 6, 30)?,
                    label: "北洋証券オンラインサービス 顧客42".to_owned(),
                    started_at: START,
                    expires_at: START.saturating_add(600),
                },
                throttle: ThrottleState::default(),
                ..Enrollment::not_registered()
            },
        ),
        (
            "pending, SHA-512, 8 digits, longest secret and label, extreme times",
            Enrollment {
                status: RecordStatus::Pending {
                    secret: seal(Secret::MAX_BYTES)?,
                    params: params(Algorithm::Sha512, 8, u64::from(OtpPolicy::MAX_PERIOD))?,
                    label: long_label.clone(),
                    started_at: 0,
                    expires_at: u64::MAX,
                },
                throttle: throttled,
                ..Enrollment::not_registered()
            },
        ),
        (
            "active",
            active(
                vec![one(
                    1,
                    seal(Secret::DEFAULT_BYTES)?,
                    params(Algorithm::Sha1, 6, 30)?,
                    "customer-42",
                    START / 30,
                )],
                ThrottleState::default(),
            ),
        ),
        (
            "active, SHA-256, 7 digits, shortest secret, throttled",
            active(
                vec![one(
                    1,
                    seal(Secret::LEGACY_MIN_BYTES)?,
                    params(Algorithm::Sha256, 7, u64::from(OtpPolicy::MIN_PERIOD))?,
                    "",
                    0,
                )],
                throttled,
            ),
        ),
        (
            "active, locked, largest counters and step",
            active(
                vec![one(
                    1,
                    seal(Secret::MAX_BYTES)?,
                    params(Algorithm::Sha512, 8, 60)?,
                    &long_label,
                    u64::MAX,
                )],
                locked,
            ),
        ),
        (
            "active, five authenticators (one pending, named, drifted) and the most recovery codes",
            Enrollment {
                status: RecordStatus::Active {
                    since: START,
                    authenticators: vec![
                        one(
                            1,
                            seal(Secret::DEFAULT_BYTES)?,
                            params(Algorithm::Sha1, 6, 30)?,
                            "customer-42",
                            START / 30,
                        ),
                        Authenticator {
                            name: "iPad".to_owned(),
                            drift: -3,
                            last_used_at: Some(START),
                            ..one(
                                2,
                                seal(Secret::DEFAULT_BYTES)?,
                                params(Algorithm::Sha1, 6, 30)?,
                                "customer-42",
                                START / 30 + 1,
                            )
                        },
                        Authenticator {
                            name: "仕事用スマートフォン".to_owned(),
                            drift: i32::MAX,
                            ..one(
                                4,
                                seal(Secret::MAX_BYTES)?,
                                params(Algorithm::Sha256, 8, 60)?,
                                "customer-42",
                                u64::MAX,
                            )
                        },
                        one(
                            7,
                            seal(Secret::DEFAULT_BYTES)?,
                            params(Algorithm::Sha1, 6, 30)?,
                            "customer-42",
                            1,
                        ),
                        Authenticator {
                            name: "Android".to_owned(),
                            last_used_step: 0,
                            pending_until: Some(START.saturating_add(600)),
                            ..one(
                                255,
                                seal(Secret::DEFAULT_BYTES)?,
                                params(Algorithm::Sha1, 6, 30)?,
                                "customer-42",
                                0,
                            )
                        },
                    ],
                },
                recovery: RecoveryHashes {
                    key_id: 7,
                    issued_at: START,
                    hashes: (0..16u8).map(|i| [i; 32]).collect(),
                },
                ..Enrollment::not_registered()
            },
        ),
    ])
}

/// A confirmed authenticator for the sample records.
pub(super) fn one(
    id: u8,
    secret: SealedSecret,
    params: OtpParams,
    label: &str,
    last_used_step: u64,
) -> Authenticator {
    Authenticator {
        id,
        name: String::new(),
        secret,
        params,
        label: label.to_owned(),
        created_at: START,
        last_used_at: None,
        last_used_step,
        drift: 0,
        pending_until: None,
    }
}

/// An active sample record with `authenticators`.
pub(super) fn active(authenticators: Vec<Authenticator>, throttle: ThrottleState) -> Enrollment {
    Enrollment {
        status: RecordStatus::Active {
            since: START,
            authenticators,
        },
        throttle,
        ..Enrollment::not_registered()
    }
}

/// Load of a missing row, first write, load back, second write, isolation of accounts.
pub(super) async fn crud<S: Store>(store: &S) -> Result<(), String> {
    let account = fresh_account("crud")?;
    let other = fresh_account("crud-other")?;
    let samples = sample_records(&account)?;
    let (Some((_, first)), Some((_, second))) = (samples.get(2), samples.get(4)) else {
        return Err("internal: too few sample records".to_owned());
    };
    expect_row(store, &account, None, "load before any write").await?;
    let v1 = write(store, &account, None, first, "first write").await?;
    if v1 != 1 {
        return Err(format!(
            "the first write returned version {v1}; versions start at 1"
        ));
    }
    expect_row(
        store,
        &account,
        Some((1, first)),
        "load after the first write",
    )
    .await?;
    let v2 = write(store, &account, Some(1), second, "second write").await?;
    if v2 != 2 {
        return Err(format!(
            "the second write returned version {v2}; expected 2"
        ));
    }
    expect_row(
        store,
        &account,
        Some((2, second)),
        "load after the second write",
    )
    .await?;
    let v3 = write(store, &account, Some(2), first, "third write").await?;
    if v3 != 3 {
        return Err(format!("the third write returned version {v3}; expected 3"));
    }
    expect_row(
        store,
        &account,
        Some((3, first)),
        "load after the third write",
    )
    .await?;
    expect_row(
        store,
        &other,
        None,
        "another account after writes to the first",
    )
    .await?;
    write(
        store,
        &other,
        None,
        second,
        "first write of another account",
    )
    .await?;
    expect_row(store, &other, Some((1, second)), "the other account").await?;
    expect_row(
        store,
        &account,
        Some((3, first)),
        "the first account after the other's write",
    )
    .await
}

/// Stale, future and missing versions and a repeated first write are conflicts that write
/// nothing.
pub(super) async fn version_conflicts<S: Store>(store: &S) -> Result<(), String> {
    let account = fresh_account("conflicts")?;
    let samples = sample_records(&account)?;
    let (Some((_, a)), Some((_, b)), Some((_, c))) =
        (samples.get(2), samples.get(4), samples.get(6))
    else {
        return Err("internal: too few sample records".to_owned());
    };
    expect_conflict(
        store,
        &account,
        Some(1),
        a,
        "a conditional write to a missing row",
    )
    .await?;
    expect_row(
        store,
        &account,
        None,
        "after a conditional write to a missing row",
    )
    .await?;
    write(store, &account, None, a, "first write").await?;
    expect_conflict(
        store,
        &account,
        None,
        b,
        "a second first write (insert twice)",
    )
    .await?;
    expect_row(store, &account, Some((1, a)), "after inserting twice").await?;
    write(store, &account, Some(1), b, "write at version 1").await?;
    expect_conflict(
        store,
        &account,
        Some(1),
        c,
        "a write with the stale version 1",
    )
    .await?;
    expect_row(store, &account, Some((2, b)), "after a stale write").await?;
    expect_conflict(
        store,
        &account,
        Some(3),
        c,
        "a write with the future version 3",
    )
    .await?;
    expect_conflict(
        store,
        &account,
        Some(u64::MAX),
        c,
        "a write with version u64::MAX",
    )
    .await?;
    expect_conflict(
        store,
        &account,
        None,
        c,
        "a first write over an existing row",
    )
    .await?;
    expect_row(
        store,
        &account,
        Some((2, b)),
        "after future and repeated writes",
    )
    .await?;
    let v3 = write(store, &account, Some(2), c, "write at the current version").await?;
    if v3 != 3 {
        return Err(format!(
            "the write after conflicts returned version {v3}; expected 3"
        ));
    }
    expect_row(
        store,
        &account,
        Some((3, c)),
        "after the write at the current version",
    )
    .await
}

/// Every record shape loads back as written, as a first write and as an update.
pub(super) async fn record_round_trip<S: Store>(store: &S) -> Result<(), String> {
    let chain = fresh_account("round-trip")?;
    let samples = sample_records(&chain)?;
    let mut version = None;
    for (name, record) in &samples {
        let decoded = Enrollment::decode(&record.encode());
        if decoded.as_ref() != Ok(record) {
            return Err(format!(
                "internal: sample `{name}` does not survive encode/decode: {decoded:?}"
            ));
        }
        let written = write(store, &chain, version, record, name).await?;
        expect_row(
            store,
            &chain,
            Some((written, record)),
            &format!("`{name}` as an update"),
        )
        .await?;
        version = Some(written);
    }
    for (name, record) in &samples {
        let account = fresh_account("round-trip-one")?;
        let written = write(store, &account, None, record, name).await?;
        expect_row(
            store,
            &account,
            Some((written, record)),
            &format!("`{name}` as a first write"),
        )
        .await?;
    }
    Ok(())
}
