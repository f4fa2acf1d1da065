//! What the checks share: reading and writing rows, expecting conflicts, events, pages.

use rand::TryRngCore;
use rand::rngs::OsRng;

use crate::account::AccountId;
use crate::error::StoreError;
use crate::lifecycle::enrollment::Enrollment;
use crate::store::{Listed, OutboxEntry, Store};

pub(super) async fn load_record<S: Store>(
    store: &S,
    account: &AccountId,
) -> Result<Option<(u64, Enrollment)>, String> {
    store
        .load(account)
        .await
        .map(|row| row.map(|v| (v.version, v.record)))
        .map_err(|e| format!("load failed: {e}"))
}

/// Expects the row of `account` to be exactly `(version, record)`.
pub(super) async fn expect_row<S: Store>(
    store: &S,
    account: &AccountId,
    expected: Option<(u64, &Enrollment)>,
    context: &str,
) -> Result<(), String> {
    let found = load_record(store, account).await?;
    let matches = match (&found, expected) {
        (None, None) => true,
        (Some((version, record)), Some((v, r))) => *version == v && record == r,
        _ => false,
    };
    if matches {
        return Ok(());
    }
    let found = found.map(|(version, record)| format!("version {version}, {record:?}"));
    let expected = expected.map(|(version, record)| format!("version {version}, {record:?}"));
    Err(format!(
        "{context}: expected {expected:?}, loaded {found:?}"
    ))
}

pub(super) async fn write<S: Store>(
    store: &S,
    account: &AccountId,
    expected: Option<u64>,
    record: &Enrollment,
    context: &str,
) -> Result<u64, String> {
    write_with(store, account, expected, record, &[], context).await
}

/// [`write`] with outbox events.
pub(super) async fn write_with<S: Store>(
    store: &S,
    account: &AccountId,
    expected: Option<u64>,
    record: &Enrollment,
    events: &[Vec<u8>],
    context: &str,
) -> Result<u64, String> {
    store
        .replace_if(account, expected, record, events)
        .await
        .map_err(|e| {
            format!(
                "{context}: replace_if(expected {expected:?}, {} events) failed: {e}",
                events.len()
            )
        })
}

pub(super) async fn expect_conflict<S: Store>(
    store: &S,
    account: &AccountId,
    expected: Option<u64>,
    record: &Enrollment,
    context: &str,
) -> Result<(), String> {
    expect_conflict_with(store, account, expected, record, &[], context).await
}

/// [`expect_conflict`] for a write with outbox events.
pub(super) async fn expect_conflict_with<S: Store>(
    store: &S,
    account: &AccountId,
    expected: Option<u64>,
    record: &Enrollment,
    events: &[Vec<u8>],
    context: &str,
) -> Result<(), String> {
    conflict(
        store.replace_if(account, expected, record, events).await,
        &format!("{context}: replace_if(expected {expected:?})"),
    )
}

/// Expects a write's `result` to be [`StoreError::Conflict`]; `what` names the call.
pub(super) fn conflict<T: core::fmt::Debug>(
    result: Result<T, StoreError>,
    what: &str,
) -> Result<(), String> {
    match result {
        Err(StoreError::Conflict) => Ok(()),
        Ok(written) => Err(format!(
            "{what} succeeded ({written:?}); expected StoreError::Conflict"
        )),
        Err(error) => Err(format!(
            "{what} failed with `{error}`; expected StoreError::Conflict"
        )),
    }
}

/// The version after `version`, as a message on overflow.
pub(super) fn next(version: u64) -> Result<u64, String> {
    version
        .checked_add(1)
        .ok_or_else(|| format!("internal: version {version} overflows"))
}

/// A random number unique to one check, to mark its events.
pub(super) fn nonce() -> Result<u64, String> {
    OsRng
        .try_next_u64()
        .map_err(|e| format!("the OS random number generator failed: {e}"))
}

/// `len` random bytes.
pub(super) fn random_bytes(len: usize) -> Result<Vec<u8>, String> {
    let mut bytes = vec![0u8; len];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| format!("the OS random number generator failed: {e}"))?;
    Ok(bytes)
}

/// The bytes of a check's event: no other event in any store has them.
pub(super) fn event(nonce: u64, tag: &str, index: usize) -> Vec<u8> {
    format!("conformance event {nonce:016x} {tag} {index}").into_bytes()
}

/// `count` events tagged `tag`.
pub(super) fn events(nonce: u64, tag: &str, count: usize) -> Vec<Vec<u8>> {
    (0..count).map(|index| event(nonce, tag, index)).collect()
}

/// An event's bytes for a message: their length and a readable start.
pub(super) fn describe(bytes: &[u8]) -> String {
    let start = bytes.get(..48).unwrap_or(bytes);
    format!("{} bytes {:?}", bytes.len(), String::from_utf8_lossy(start))
}

/// An account id `prefix/suffix`: every id made from one fresh prefix sorts right after
/// the prefix, before any id that does not start with it.
pub(super) fn child_id(prefix: &AccountId, suffix: &str) -> Result<AccountId, String> {
    AccountId::new(format!("{}/{suffix}", prefix.as_str()))
        .map_err(|e| format!("internal: account id `{}/{suffix}`: {e}", prefix.as_str()))
}

/// Whether `account` is one of the ids made by [`child_id`] from `prefix`.
pub(super) fn is_child(prefix: &AccountId, account: &AccountId) -> bool {
    account
        .as_str()
        .strip_prefix(prefix.as_str())
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The largest `pending_events` limit [`own_pending`] asks for before giving up.
pub(super) const MAX_OUTBOX_SCAN: usize = 1 << 22;

/// Checks one `pending_events(limit)` answer: at most `limit` events, in strictly
/// increasing id order.
pub(super) fn check_outbox_page(
    page: &[OutboxEntry],
    limit: usize,
    context: &str,
) -> Result<(), String> {
    if page.len() > limit {
        return Err(format!(
            "{context}: pending_events({limit}) returned {} events",
            page.len()
        ));
    }
    for pair in page.windows(2) {
        if let [first, second] = pair
            && first.id >= second.id
        {
            return Err(format!(
                "{context}: pending_events({limit}) returned id {} before id {}; events come \
                 in increasing id order, each id once",
                first.id, second.id
            ));
        }
    }
    Ok(())
}

/// The pending events of `accounts`, oldest first. The outbox may hold any number of other
/// checks' events (a store shared by many checks and runs), so this asks
/// `pending_events` for a limit that doubles from 256 until the answer is not full (the
/// whole outbox was read) or holds every event of `newest` (bytes of the last event
/// written for each account: ids grow with each account's writes, so all older ones of
/// that account are in that answer too).
pub(super) async fn own_pending<S: Store>(
    store: &S,
    accounts: &[AccountId],
    newest: &[Vec<u8>],
    context: &str,
) -> Result<Vec<OutboxEntry>, String> {
    let mut limit: usize = 256;
    loop {
        let page = store
            .pending_events(limit)
            .await
            .map_err(|e| format!("{context}: pending_events({limit}) failed: {e}"))?;
        check_outbox_page(&page, limit, context)?;
        let full = page.len() >= limit;
        let own: Vec<OutboxEntry> = page
            .into_iter()
            .filter(|entry| accounts.contains(&entry.account))
            .collect();
        let complete = !newest.is_empty()
            && newest
                .iter()
                .all(|bytes| own.iter().any(|entry| entry.bytes == *bytes));
        if !full || complete {
            return Ok(own);
        }
        limit = limit
            .checked_mul(2)
            .filter(|l| *l <= MAX_OUTBOX_SCAN)
            .ok_or_else(|| {
                format!(
                    "{context}: the outbox holds more than {MAX_OUTBOX_SCAN} pending events \
                     and this check's newest are not among them"
                )
            })?;
    }
}

/// Expects the pending events `found` (in id order) to be exactly `expected` (account and
/// bytes, in write order) for each account: every event of a successful write, in the
/// order written, tagged with its account, and nothing else.
pub(super) fn expect_events(
    found: &[OutboxEntry],
    expected: &[(AccountId, Vec<u8>)],
    context: &str,
) -> Result<(), String> {
    let mut accounts: Vec<&AccountId> = expected.iter().map(|(account, _)| account).collect();
    accounts.extend(found.iter().map(|entry| &entry.account));
    accounts.sort_unstable();
    accounts.dedup();
    for account in accounts {
        let wanted: Vec<&[u8]> = expected
            .iter()
            .filter(|(a, _)| a == account)
            .map(|(_, bytes)| bytes.as_slice())
            .collect();
        let got: Vec<(u64, &[u8])> = found
            .iter()
            .filter(|entry| &entry.account == account)
            .map(|entry| (entry.id, entry.bytes.as_slice()))
            .collect();
        let position = wanted
            .iter()
            .zip(&got)
            .position(|(w, (_, g))| w != g)
            .unwrap_or_else(|| wanted.len().min(got.len()));
        if wanted.len() == got.len() && position == wanted.len() {
            continue;
        }
        let wanted_at = wanted
            .get(position)
            .map_or_else(|| "nothing".to_owned(), |bytes| describe(bytes));
        let got_at = got.get(position).map_or_else(
            || "nothing".to_owned(),
            |(id, bytes)| format!("id {id}: {}", describe(bytes)),
        );
        return Err(format!(
            "{context}: account `{account}` has {} pending events, expected {}; at position \
             {position} expected {wanted_at}, found {got_at} (a successful write appends all \
             its events in order, a failed one none)",
            got.len(),
            wanted.len()
        ));
    }
    Ok(())
}

/// Acknowledges `entries` (a check cleaning up after itself).
pub(super) async fn acknowledge_all<S: Store>(
    store: &S,
    entries: &[OutboxEntry],
    context: &str,
) -> Result<(), String> {
    let ids: Vec<u64> = entries.iter().map(|entry| entry.id).collect();
    store
        .acknowledge(&ids)
        .await
        .map_err(|e| format!("{context}: acknowledge({} ids) failed: {e}", ids.len()))
}

pub(super) async fn expect_version<S: Store>(
    store: &S,
    account: &AccountId,
    expected: Option<u64>,
    context: &str,
) -> Result<(), String> {
    let found = store
        .version(account)
        .await
        .map_err(|e| format!("{context}: version failed: {e}"))?;
    if found == expected {
        return Ok(());
    }
    Err(format!(
        "{context}: version() returned {found:?}, expected {expected:?}"
    ))
}

pub(super) async fn forget<S: Store>(
    store: &S,
    account: &AccountId,
    expected: u64,
    events: &[Vec<u8>],
    context: &str,
) -> Result<u64, String> {
    store
        .forget(account, expected, events)
        .await
        .map_err(|e| format!("{context}: forget(expected {expected}) failed: {e}"))
}

/// A store's list page as `(account, version)` pairs, for messages.
pub(super) fn listed_ids(page: &[Listed]) -> Vec<(&str, u64)> {
    page.iter()
        .map(|row| (row.account.as_str(), row.version))
        .collect()
}

/// The rows of `prefix`'s accounts ([`child_id`]) in the first page after `prefix`.
pub(super) async fn list_children<S: Store>(
    store: &S,
    prefix: &AccountId,
    context: &str,
) -> Result<Vec<Listed>, String> {
    let page = store
        .list(Some(prefix), 16)
        .await
        .map_err(|e| format!("{context}: list failed: {e}"))?;
    Ok(page
        .into_iter()
        .filter(|row| is_child(prefix, &row.account))
        .collect())
}

/// Expects `rows` to be exactly `expected` (account, version and record), in that order.
pub(super) fn expect_listed(
    rows: &[Listed],
    expected: &[(&AccountId, u64, &Enrollment)],
    context: &str,
) -> Result<(), String> {
    let matches = rows.len() == expected.len()
        && rows
            .iter()
            .zip(expected)
            .all(|(row, (account, version, record))| {
                row.account == **account
                    && row.version == *version
                    && row.record.as_ref() == Ok(*record)
            });
    if matches {
        return Ok(());
    }
    let wanted: Vec<(&str, u64)> = expected
        .iter()
        .map(|(account, version, _)| (account.as_str(), *version))
        .collect();
    Err(format!(
        "{context}: list returned {:?}, expected {wanted:?} (with the records written)",
        listed_ids(rows)
    ))
}
