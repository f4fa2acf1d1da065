//! [`Check::OutboxAtomicity`], [`Check::OutboxDelivery`] and [`Check::ConcurrentWrites`]:
//! events are written with their record or not at all, delivered in order, at least once.

use std::sync::Arc;

use crate::account::AccountId;
use crate::error::StoreError;
use crate::lifecycle::enrollment::Enrollment;
use crate::store::{OutboxEntry, Store};

use super::helpers::*;
use super::support::*;
use super::*;

/// [`Check::ConcurrentWrites`]: `config.concurrency` (at most 16) writers race on one
/// fresh row for `config.rounds` (at most 20) rounds; each write carries two events naming
/// its round and writer.
pub(super) async fn concurrent_writes<S: Store + 'static>(
    store: Arc<S>,
    config: &Config,
) -> Result<(), String> {
    let account = fresh_account("concurrent-writes")?;
    let record = Enrollment::not_registered();
    let writers = config.concurrency.clamp(2, 16);
    let mut version = None;
    for round in 0..config.rounds.clamp(1, 20) {
        let outcomes = race(writers, |writer| {
            let (store, account, record) = (Arc::clone(&store), account.clone(), record.clone());
            async move {
                let events = [
                    format!("{round}-{writer}-first").into_bytes(),
                    format!("{round}-{writer}-second").into_bytes(),
                ];
                (
                    writer,
                    store.replace_if(&account, version, &record, &events).await,
                )
            }
        })
        .await?;
        let mut winners = Vec::new();
        for (writer, outcome) in outcomes {
            match outcome {
                Ok(written) => winners.push((writer, written)),
                Err(StoreError::Conflict) => {}
                Err(error) => {
                    return Err(format!("round {round}: writer {writer} failed: {error}"));
                }
            }
        }
        let [(winner, written)] = winners[..] else {
            return Err(format!(
                "round {round}: {} of {writers} writes at version {version:?} succeeded;                  exactly one must",
                winners.len()
            ));
        };
        let expected: Vec<(AccountId, Vec<u8>)> = ["first", "second"]
            .iter()
            .map(|n| {
                (
                    account.clone(),
                    format!("{round}-{winner}-{n}").into_bytes(),
                )
            })
            .collect();
        let newest = expected
            .last()
            .map(|(_, b)| b.clone())
            .into_iter()
            .collect::<Vec<_>>();
        let context = format!("round {round}");
        let found =
            own_pending(&*store, core::slice::from_ref(&account), &newest, &context).await?;
        expect_events(&found, &expected, &context)?;
        let ids: Vec<u64> = found.iter().map(|entry| entry.id).collect();
        store
            .acknowledge(&ids)
            .await
            .map_err(|e| format!("{context}: acknowledge failed: {e}"))?;
        version = Some(written);
    }
    Ok(())
}

/// A committed write's events are in the outbox in order, a conflicting write's are not;
/// event bytes round-trip exactly.
pub(super) async fn outbox_atomicity<S: Store>(store: &S) -> Result<(), String> {
    let account = fresh_account("outbox-atomicity")?;
    let bare = fresh_account("outbox-atomicity-no-row")?;
    let accounts = [account.clone(), bare.clone()];
    let nonce = nonce()?;
    let samples = sample_records(&account)?;
    let (Some((_, a)), Some((_, b)), Some((_, c))) =
        (samples.get(2), samples.get(4), samples.get(6))
    else {
        return Err("internal: too few sample records".to_owned());
    };
    let mut expected: Vec<(AccountId, Vec<u8>)> = Vec::new();
    let tag = |events: &[Vec<u8>], account: &AccountId| -> Vec<(AccountId, Vec<u8>)> {
        events
            .iter()
            .map(|bytes| (account.clone(), bytes.clone()))
            .collect()
    };

    let first = events(nonce, "first", 3);
    let v1 = write_with(
        store,
        &account,
        None,
        a,
        &first,
        "a first write with three events",
    )
    .await?;
    expected.extend(tag(&first, &account));
    let found = own_pending(store, &accounts, &newest(&first), "after a first write").await?;
    expect_events(&found, &expected, "after a first write with three events")?;

    expect_conflict_with(
        store,
        &account,
        None,
        b,
        &events(nonce, "second-first-write", 2),
        "a second first write with events",
    )
    .await?;
    let second = events(nonce, "second", 1);
    let v2 = write_with(
        store,
        &account,
        Some(v1),
        b,
        &second,
        "a second write with one event",
    )
    .await?;
    expected.extend(tag(&second, &account));
    expect_conflict_with(
        store,
        &account,
        Some(v1),
        c,
        &events(nonce, "stale", 2),
        "a stale write with events",
    )
    .await?;
    expect_conflict_with(
        store,
        &account,
        Some(next(v2)?),
        c,
        &events(nonce, "future", 1),
        "a write with a future version and events",
    )
    .await?;
    conflict(
        store
            .forget(&account, v1, &events(nonce, "stale-forget", 1))
            .await,
        "a stale forget with events",
    )?;
    conflict(
        store
            .reinstate(&account, v2, c, &events(nonce, "reinstate", 1))
            .await,
        "reinstate of a row not at the largest version, with events",
    )?;
    expect_row(
        store,
        &account,
        Some((v2, b)),
        "after conflicting writes with events",
    )
    .await?;
    let v3 = write_with(store, &account, Some(v2), c, &[], "a write with no events").await?;

    let appended = events(nonce, "appended", 3);
    store
        .append_events(&account, &appended)
        .await
        .map_err(|e| format!("append_events(3 events) failed: {e}"))?;
    expected.extend(tag(&appended, &account));
    store
        .append_events(&account, &[])
        .await
        .map_err(|e| format!("append_events(no events) failed: {e}"))?;
    expect_row(
        store,
        &account,
        Some((v3, c)),
        "after append_events (it writes no record)",
    )
    .await?;

    // Exact bytes: empty, a zero byte, every byte value, 64 KiB of random bytes; for an
    // account without any row (a refusal of an unknown account is audited too).
    let all_bytes: Vec<u8> = (0..=u8::MAX).collect();
    let odd = vec![
        Vec::new(),
        vec![0u8],
        all_bytes,
        random_bytes(64 * 1024)?,
        event(nonce, "no-row", 0),
    ];
    store
        .append_events(&bare, &odd)
        .await
        .map_err(|e| format!("append_events for an account with no row failed: {e}"))?;
    expected.extend(tag(&odd, &bare));
    expect_row(
        store,
        &bare,
        None,
        "append_events for an account with no row",
    )
    .await?;
    expect_version(
        store,
        &bare,
        None,
        "append_events for an account with no row",
    )
    .await?;

    let with_record = vec![
        Vec::new(),
        random_bytes(64 * 1024)?,
        event(nonce, "with-record", 0),
    ];
    let v4 = write_with(
        store,
        &account,
        Some(v3),
        a,
        &with_record,
        "a write with an empty and a 64 KiB event",
    )
    .await?;
    expected.extend(tag(&with_record, &account));
    let erasure = events(nonce, "forget", 2);
    forget(store, &account, v4, &erasure, "forget with two events").await?;
    expected.extend(tag(&erasure, &account));

    let newest_events = [erasure.last(), odd.last()]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>();
    let found = own_pending(store, &accounts, &newest_events, "at the end").await?;
    let result = expect_events(&found, &expected, "after every write");
    acknowledge_all(store, &found, "cleaning up").await?;
    result
}

/// The last of `events`, as [`own_pending`]'s `newest`.
pub(super) fn newest(events: &[Vec<u8>]) -> Vec<Vec<u8>> {
    events.last().cloned().into_iter().collect()
}

/// Pending events come oldest first within the limit; acknowledging removes exactly the
/// given ids; the others are returned again, with the same ids.
pub(super) async fn outbox_delivery<S: Store>(store: &S) -> Result<(), String> {
    let accounts = [
        fresh_account("outbox-delivery-a")?,
        fresh_account("outbox-delivery-b")?,
    ];
    let nonce = nonce()?;
    let samples = sample_records(accounts.first().ok_or("internal: no account")?)?;
    let mut records = samples.iter().map(|(_, record)| record).cycle();
    let mut versions: Vec<Option<u64>> = vec![None; accounts.len()];
    let mut expected: Vec<(AccountId, Vec<u8>)> = Vec::new();
    // Two accounts' writes interleaved: a record with two events, an append of one, a
    // record with one; each account's events must come in its write order.
    let kinds: [(bool, usize); 3] = [(true, 2), (false, 1), (true, 1)];
    let plan = (0..accounts.len())
        .cycle()
        .zip(kinds.iter().cycle())
        .take(18);
    for (round, (which, (record_write, count))) in plan.enumerate() {
        let (Some(account), Some(version)) = (accounts.get(which), versions.get_mut(which)) else {
            return Err("internal: account index".to_owned());
        };
        let batch = events(nonce, &format!("round-{round}"), *count);
        if *record_write {
            let record = records.next().ok_or("internal: no sample records")?;
            let written = write_with(
                store,
                account,
                *version,
                record,
                &batch,
                &format!("write {round}"),
            )
            .await?;
            *version = Some(written);
        } else {
            store
                .append_events(account, &batch)
                .await
                .map_err(|e| format!("append_events {round} failed: {e}"))?;
        }
        expected.extend(batch.into_iter().map(|bytes| (account.clone(), bytes)));
    }
    let last: Vec<Vec<u8>> = accounts
        .iter()
        .filter_map(|account| {
            expected
                .iter()
                .rev()
                .find(|(a, _)| a == account)
                .map(|(_, bytes)| bytes.clone())
        })
        .collect();
    let own = own_pending(store, &accounts, &last, "after interleaved writes").await?;
    expect_events(&own, &expected, "two accounts' interleaved writes")?;

    // Small limits: the oldest first. Other checks' events may come first (a shared
    // store); of this check's, none older than the newest one returned may be missing.
    for limit in [0, 1, 3, 7] {
        let page = store
            .pending_events(limit)
            .await
            .map_err(|e| format!("pending_events({limit}) failed: {e}"))?;
        check_outbox_page(&page, limit, "small limits")?;
        let newest_id = page.last().map(|entry| entry.id);
        for entry in &own {
            let listed = page.iter().find(|p| p.id == entry.id);
            let required = newest_id.is_some_and(|n| entry.id <= n) || page.len() < limit;
            match listed {
                Some(p) if p != entry => {
                    return Err(format!(
                        "pending_events({limit}) returned id {} as {:?} / {}, earlier as {:?} / {} \
                         (an event keeps its id, account and bytes until acknowledged)",
                        p.id,
                        p.account.as_str(),
                        describe(&p.bytes),
                        entry.account.as_str(),
                        describe(&entry.bytes)
                    ));
                }
                None if required => {
                    return Err(format!(
                        "pending_events({limit}) returned ids {:?} but not the older pending id {} \
                         (the oldest `limit` events come first)",
                        page.iter().map(|p| p.id).collect::<Vec<_>>(),
                        entry.id
                    ));
                }
                _ => {}
            }
        }
    }

    // Acknowledge every third (not the newest of an account), an unknown id, and the same
    // ids again.
    let newest_ids: Vec<u64> = last
        .iter()
        .filter_map(|bytes| own.iter().find(|e| e.bytes == *bytes).map(|e| e.id))
        .collect();
    let acked: Vec<u64> = own
        .iter()
        .step_by(3)
        .map(|entry| entry.id)
        .filter(|id| !newest_ids.contains(id))
        .collect();
    let remaining: Vec<OutboxEntry> = own
        .iter()
        .filter(|entry| !acked.contains(&entry.id))
        .cloned()
        .collect();
    let mut with_unknown = acked.clone();
    with_unknown.extend([u64::MAX, u64::try_from(i64::MAX).unwrap_or(u64::MAX)]);
    store
        .acknowledge(&with_unknown)
        .await
        .map_err(|e| format!("acknowledge (with unknown ids) failed: {e}"))?;
    store
        .acknowledge(&acked)
        .await
        .map_err(|e| format!("acknowledging the same ids again failed: {e}"))?;
    store
        .acknowledge(&[])
        .await
        .map_err(|e| format!("acknowledge(no ids) failed: {e}"))?;
    for attempt in ["after acknowledging some", "read again (at least once)"] {
        let found = own_pending(store, &accounts, &last, attempt).await?;
        if found != remaining {
            return Err(format!(
                "{attempt}: pending ids {:?}; expected {:?} (acknowledge removes exactly the \
                 given ids; the others stay, with their ids, until acknowledged)",
                found.iter().map(|e| e.id).collect::<Vec<_>>(),
                remaining.iter().map(|e| e.id).collect::<Vec<_>>()
            ));
        }
    }

    // Acknowledge the rest; then a new event per account is all that is pending.
    acknowledge_all(store, &remaining, "acknowledging the rest").await?;
    let mut markers: Vec<(AccountId, Vec<u8>)> = Vec::new();
    for account in &accounts {
        let marker = vec![event(nonce, &format!("after-all-{account}"), 0)];
        store
            .append_events(account, &marker)
            .await
            .map_err(|e| format!("append_events after acknowledging all failed: {e}"))?;
        markers.extend(marker.into_iter().map(|bytes| (account.clone(), bytes)));
    }
    let newest_markers: Vec<Vec<u8>> = markers.iter().map(|(_, bytes)| bytes.clone()).collect();
    let found = own_pending(store, &accounts, &newest_markers, "after acknowledging all").await?;
    let result = expect_events(&found, &markers, "after acknowledging every earlier event");
    if let Some(reused) = found.iter().find(|e| own.iter().any(|o| o.id == e.id)) {
        return Err(format!(
            "a new event got the id {} of an acknowledged one (ids are never reused)",
            reused.id
        ));
    }
    acknowledge_all(store, &found, "cleaning up").await?;
    result
}
