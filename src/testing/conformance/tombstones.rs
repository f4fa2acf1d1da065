//! [`Check::Tombstones`]: an erasure leaves a tombstone that keeps stale writers out.

use crate::store::Store;

use super::helpers::*;
use super::support::*;
use super::*;

/// Erasure leaves a tombstone: absent for load and list, but its version is kept and
/// needed, so no write from before the erasure succeeds.
pub(super) async fn tombstones<S: Store>(store: &S) -> Result<(), String> {
    let prefix = fresh_account("tombstones")?;
    let (before, erased, after) = (
        child_id(&prefix, "a")?,
        child_id(&prefix, "b")?,
        child_id(&prefix, "c")?,
    );
    let samples = sample_records(&erased)?;
    let (Some((_, a)), Some((_, b)), Some((_, c))) =
        (samples.get(2), samples.get(4), samples.get(6))
    else {
        return Err("internal: too few sample records".to_owned());
    };
    expect_version(store, &erased, None, "an account never written").await?;
    conflict(
        store.forget(&erased, 1, &[]).await,
        "forget(expected 1) of an account never written",
    )?;
    expect_version(
        store,
        &erased,
        None,
        "after forgetting an account never written",
    )
    .await?;

    let vb = write(store, &before, None, a, "first write of a neighbour").await?;
    let va = write(store, &after, None, c, "first write of a neighbour").await?;
    let v1 = write(store, &erased, None, a, "first write").await?;
    let v2 = write(store, &erased, Some(v1), b, "second write").await?;
    expect_version(store, &erased, Some(v2), "a live account").await?;
    conflict(
        store.forget(&erased, v1, &[]).await,
        &format!("forget with the stale version {v1}"),
    )?;
    conflict(
        store.forget(&erased, next(v2)?, &[]).await,
        "forget with a future version",
    )?;
    expect_row(store, &erased, Some((v2, b)), "after a stale forget").await?;

    let tomb = forget(store, &erased, v2, &[], "forget at the current version").await?;
    if tomb != next(v2)? {
        return Err(format!(
            "forget(expected {v2}) returned version {tomb}; the tombstone is at the next version"
        ));
    }
    expect_row(store, &erased, None, "load of an erased account").await?;
    expect_version(
        store,
        &erased,
        Some(tomb),
        "an erased account (its tombstone)",
    )
    .await?;
    let rows = list_children(store, &prefix, "listing around a tombstone").await?;
    expect_listed(
        &rows,
        &[(&before, vb, a), (&after, va, c)],
        "listing around a tombstone (it is skipped)",
    )?;
    let page = store
        .list(Some(&before), 1)
        .await
        .map_err(|e| format!("list(after the tombstone's neighbour, 1) failed: {e}"))?;
    expect_listed(
        &page,
        &[(&after, va, c)],
        "list(limit 1) starting right before a tombstone (it neither appears nor uses up \
         the limit)",
    )?;

    expect_conflict(
        store,
        &erased,
        None,
        c,
        "a first write over a tombstone (it has a version)",
    )
    .await?;
    expect_conflict(
        store,
        &erased,
        Some(v2),
        c,
        "a write with the version from before the erasure",
    )
    .await?;
    expect_conflict(store, &erased, Some(v1), c, "a write with an older version").await?;
    expect_conflict(
        store,
        &erased,
        Some(next(tomb)?),
        c,
        "a write with a future version",
    )
    .await?;
    conflict(
        store.reinstate(&erased, tomb, c, &[]).await,
        "reinstate of a tombstone that is not at the largest version",
    )?;
    expect_row(store, &erased, None, "a tombstone after refused writes").await?;
    expect_version(
        store,
        &erased,
        Some(tomb),
        "a tombstone after refused writes",
    )
    .await?;

    let again = write(
        store,
        &erased,
        Some(tomb),
        c,
        "a write over the tombstone at its version",
    )
    .await?;
    if again != next(tomb)? {
        return Err(format!(
            "the write over the tombstone at version {tomb} returned version {again}; expected {}",
            next(tomb)?
        ));
    }
    expect_row(
        store,
        &erased,
        Some((again, c)),
        "an account enrolled again after erasure",
    )
    .await?;
    expect_version(store, &erased, Some(again), "an account enrolled again").await?;
    let rows = list_children(store, &prefix, "listing after enrolling again").await?;
    expect_listed(
        &rows,
        &[(&before, vb, a), (&erased, again, c), (&after, va, c)],
        "listing after enrolling again",
    )?;
    conflict(
        store.forget(&erased, tomb, &[]).await,
        "forget with the tombstone's (now stale) version",
    )?;
    conflict(
        store.forget(&erased, v2, &[]).await,
        "forget with a version from before the erasure",
    )?;
    expect_row(store, &erased, Some((again, c)), "after stale forgets").await?;

    // A second erasure: the versions of both earlier lives are stale.
    let second = forget(store, &erased, again, &[], "a second erasure").await?;
    for stale in [v2, tomb, again] {
        expect_conflict(
            store,
            &erased,
            Some(stale),
            a,
            &format!("a write with version {stale} after the second erasure"),
        )
        .await?;
    }
    let third = write(store, &erased, Some(second), a, "a third enrollment").await?;
    expect_row(store, &erased, Some((third, a)), "the third enrollment").await?;
    expect_row(
        store,
        &before,
        Some((vb, a)),
        "a neighbour of the erased account",
    )
    .await?;
    expect_row(
        store,
        &after,
        Some((va, c)),
        "a neighbour of the erased account",
    )
    .await
}
