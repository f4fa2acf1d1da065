//! [`Check::Listing`]: paging visits every live account once, in byte order, while
//! writes go on.

use crate::account::AccountId;
use crate::lifecycle::enrollment::Enrollment;
use crate::store::{Listed, Store};

use super::helpers::*;
use super::support::*;
use super::*;

/// Names that sort differently by bytes than by a collation, by UTF-16 or numerically.
pub(super) const LISTING_NAMES: [&str; 14] = [
    "A",
    "a",
    "B",
    "b",
    "a b",
    "a-b",
    "a_b",
    "ab",
    "z",
    "é",
    "口座-日本",
    "口座-中国",
    "ｱ",
    "😀",
];

/// Pages through the accounts of one prefix with a small limit while writes go on: every
/// live account once, in byte order of the id, with its version and record; tombstones
/// never.
pub(super) async fn listing<S: Store>(store: &S) -> Result<(), String> {
    const LIMIT: usize = 7;
    let prefix = fresh_account("listing")?;
    let samples = sample_records(&prefix)?;
    const NUMBERED: usize = 18;
    let mut names: Vec<String> = (0..NUMBERED).map(|n| format!("n{n}")).collect();
    names.extend(LISTING_NAMES.iter().map(|name| (*name).to_owned()));
    // The expected live rows by id, and the erased ids.
    let mut live: std::collections::BTreeMap<AccountId, (u64, Enrollment)> =
        std::collections::BTreeMap::new();
    let mut erased: Vec<AccountId> = Vec::new();
    let mut records = samples.iter().map(|(_, record)| record).cycle();
    for (index, name) in names.iter().enumerate() {
        let account = child_id(&prefix, name)?;
        let record = records.next().ok_or("internal: no sample records")?;
        let mut version = write(
            store,
            &account,
            None,
            record,
            &format!("first write of `{name}`"),
        )
        .await?;
        if index.checked_rem(3) == Some(1) {
            version = write(
                store,
                &account,
                Some(version),
                record,
                &format!("second write of `{name}`"),
            )
            .await?;
        }
        // Erased: every fourth numbered one and `a_b`; erased and enrolled again: two
        // numbered ones and `é`. The names whose orders differ stay live.
        let numbered = index < NUMBERED;
        let erase = name == "a_b" || (numbered && index.checked_rem(4) == Some(2));
        let again = name == "é" || (numbered && index.checked_rem(12) == Some(3));
        if erase {
            forget(store, &account, version, &[], &format!("erasing `{name}`")).await?;
            erased.push(account);
        } else if again {
            let tomb = forget(store, &account, version, &[], &format!("erasing `{name}`")).await?;
            let again = write(
                store,
                &account,
                Some(tomb),
                record,
                &format!("enrolling `{name}` again"),
            )
            .await?;
            live.insert(account, (again, record.clone()));
        } else {
            live.insert(account, (version, record.clone()));
        }
    }
    let empty = store
        .list(Some(&prefix), 0)
        .await
        .map_err(|e| format!("list(limit 0) failed: {e}"))?;
    if !empty.is_empty() {
        return Err(format!("list(limit 0) returned {:?}", listed_ids(&empty)));
    }
    let first = store
        .list(None, LIMIT)
        .await
        .map_err(|e| format!("list(from the first, {LIMIT}) failed: {e}"))?;
    check_list_page(&first, None, LIMIT, &erased, "list(from the first)")?;

    // The walk: `after` is the last id of the previous page, starting at the prefix (every
    // id of this check sorts after it and before any other id greater than it).
    let mut seen: Vec<AccountId> = Vec::new();
    let mut after = prefix.clone();
    let mut pages: usize = 0;
    loop {
        let page = store
            .list(Some(&after), LIMIT)
            .await
            .map_err(|e| format!("list(after `{after}`, {LIMIT}) failed: {e}"))?;
        let context = format!("page {pages} (after `{after}`)");
        check_list_page(&page, Some(&after), LIMIT, &erased, &context)?;
        let mut beyond = false;
        for row in &page {
            if !is_child(&prefix, &row.account) {
                beyond = true;
                break;
            }
            let Some((version, record)) = live.get(&row.account) else {
                return Err(format!(
                    "{context}: listed `{}`, which this check never wrote or erased",
                    row.account
                ));
            };
            if row.version != *version || row.record.as_ref() != Ok(record) {
                return Err(format!(
                    "{context}: `{}` listed at version {} with {:?}; expected version {version} \
                     and the record written",
                    row.account, row.version, row.record
                ));
            }
            seen.push(row.account.clone());
        }
        let Some(last) = page.last() else { break };
        if beyond || page.len() < LIMIT {
            break;
        }
        after = last.account.clone();
        pages = pages
            .checked_add(1)
            .ok_or("internal: page count overflow")?;
        if pages > names.len() {
            return Err(format!(
                "the walk did not end after {pages} pages of {LIMIT} for {} accounts",
                names.len()
            ));
        }
        if pages == 1 {
            // Writes go on: an account listed already and the last one, not listed yet.
            let mut writes: Vec<AccountId> = seen.first().cloned().into_iter().collect();
            writes.extend(live.keys().next_back().cloned());
            for account in writes {
                let Some((version, record)) = live.get(&account).cloned() else {
                    continue;
                };
                let written = write(
                    store,
                    &account,
                    Some(version),
                    &record,
                    "a write during the walk",
                )
                .await?;
                live.insert(account, (written, record));
            }
        }
    }
    let wanted: Vec<&AccountId> = live.keys().collect();
    let found: Vec<&AccountId> = seen.iter().collect();
    if found != wanted {
        let show = |ids: &[&AccountId]| -> Vec<String> {
            ids.iter()
                .map(|id| {
                    id.as_str()
                        .strip_prefix(prefix.as_str())
                        .unwrap_or(id.as_str())
                        .to_owned()
                })
                .collect()
        };
        return Err(format!(
            "paging with limit {LIMIT} from `{prefix}` listed {:?}; expected every live account \
             once, in byte order of the id, and no erased one: {:?}",
            show(&found),
            show(&wanted)
        ));
    }
    for tomb in &erased {
        let page = store
            .list(Some(tomb), 1)
            .await
            .map_err(|e| format!("list(after the tombstone `{tomb}`, 1) failed: {e}"))?;
        let next_live = live
            .range::<AccountId, _>((
                core::ops::Bound::Excluded(tomb),
                core::ops::Bound::Unbounded,
            ))
            .next()
            .map(|(account, _)| account);
        let listed = page.first().map(|row| &row.account);
        if let Some(next_live) = next_live
            && listed != Some(next_live)
        {
            return Err(format!(
                "list(after the tombstone `{tomb}`, 1) returned {:?}; expected `{next_live}`",
                listed_ids(&page)
            ));
        }
    }
    Ok(())
}

/// Checks one list page: at most `limit` rows, ids strictly increasing by bytes and after
/// `after`, none of the `erased` ones.
pub(super) fn check_list_page(
    page: &[Listed],
    after: Option<&AccountId>,
    limit: usize,
    erased: &[AccountId],
    context: &str,
) -> Result<(), String> {
    if page.len() > limit {
        return Err(format!(
            "{context}: list(limit {limit}) returned {} rows",
            page.len()
        ));
    }
    let mut previous = after.map(|id| id.as_str().as_bytes());
    for row in page {
        let id = row.account.as_str().as_bytes();
        if previous.is_some_and(|p| p >= id) {
            return Err(format!(
                "{context}: list returned {:?}: ids must be strictly increasing in byte order \
                 and sort after `after` (a store sorting by a collation or by characters other \
                 than UTF-8 bytes gets this wrong)",
                listed_ids(page)
            ));
        }
        if erased.contains(&row.account) {
            return Err(format!(
                "{context}: list returned the erased account `{}` (a tombstone is never listed)",
                row.account
            ));
        }
        previous = Some(id);
    }
    Ok(())
}
