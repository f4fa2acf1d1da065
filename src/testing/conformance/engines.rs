//! Through engines sharing the store: [`Check::OneAcceptance`],
//! [`Check::ExactFailureCount`] and [`Check::ThrottleBoundsGuesses`].

use std::sync::Arc;

use crate::account::AccountId;
use crate::clock::ManualClock;
use crate::engine::Engine;
use crate::error::Refusal;
use crate::lifecycle::throttle::ThrottlePolicy;
use crate::store::Store;

use super::helpers::*;
use super::support::*;
use super::*;

/// The engines of one check: `count` engines over one store, one key, one clock.
pub(super) struct Rig<S> {
    engines: Vec<Arc<Engine<Arc<S>>>>,
    clock: Arc<ManualClock>,
}

impl<S: Store + 'static> Rig<S> {
    fn new(store: &Arc<S>, count: usize, throttle: ThrottlePolicy) -> Result<Self, String> {
        let clock = Arc::new(ManualClock::new(to_clock(START)?));
        let key = random_key()?;
        let engines = (0..count.max(1))
            .map(|_| engine(Arc::clone(store), key, Arc::clone(&clock), throttle).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { engines, clock })
    }

    fn engine(&self, i: usize) -> Result<Arc<Engine<Arc<S>>>, String> {
        let count = self.engines.len().max(1);
        self.engines
            .get(i.checked_rem(count).unwrap_or(0))
            .cloned()
            .ok_or_else(|| "internal: no engine".to_owned())
    }

    fn set_time(&self, now: u64) -> Result<(), String> {
        self.clock.set(to_clock(now)?);
        Ok(())
    }

    /// `tasks` concurrent `verify_login(account, code)` spread over the engines.
    async fn verify_all(
        &self,
        tasks: usize,
        account: &AccountId,
        code: &str,
    ) -> Result<Vec<Outcome>, String> {
        let engines = (0..tasks)
            .map(|i| self.engine(i))
            .collect::<Result<Vec<_>, _>>()?;
        race(tasks, |i| {
            let engine = engines.get(i).cloned();
            let account = account.clone();
            let code = code.to_owned();
            async move {
                match engine {
                    Some(engine) => Outcome::from(engine.verify_login(&account, &code).await),
                    None => Outcome::Error("internal: no engine for this task".to_owned()),
                }
            }
        })
        .await
    }
}

pub(super) fn to_clock(now: u64) -> Result<i64, String> {
    i64::try_from(now).map_err(|_| format!("time {now} does not fit the manual clock"))
}

pub(super) fn count(outcomes: &[Outcome], wanted: impl Fn(&Outcome) -> bool) -> usize {
    outcomes.iter().filter(|o| wanted(o)).count()
}

/// N concurrent verifications of one valid code accept exactly one, every round.
pub(super) async fn one_acceptance<S: Store + 'static>(
    store: Arc<S>,
    config: &Config,
) -> Result<(), String> {
    if config.concurrency == 0 || config.rounds == 0 {
        return Err("Config::concurrency and Config::rounds must be positive".to_owned());
    }
    let rig = Rig::new(&store, config.engines, ThrottlePolicy::default())?;
    let account = fresh_account("one-acceptance")?;
    let totp = enroll(&*rig.engine(0)?, &account, START).await?;
    let period = u64::from(totp.period());
    for round in 1..=config.rounds {
        let offset = u64::try_from(round)
            .ok()
            .and_then(|r| r.checked_mul(period))
            .ok_or("round number overflow")?;
        let now = START.checked_add(offset).ok_or("time overflow")?;
        rig.set_time(now)?;
        let code = totp.code_at(now).to_string();
        let outcomes = rig.verify_all(config.concurrency, &account, &code).await?;
        let accepted = count(&outcomes, |o| *o == Outcome::Verified);
        let replayed = count(&outcomes, |o| *o == Outcome::Refused(Refusal::Replayed));
        let others: Vec<_> = outcomes
            .iter()
            .filter(|o| **o != Outcome::Verified && **o != Outcome::Refused(Refusal::Replayed))
            .collect();
        if accepted != 1 || !others.is_empty() {
            return Err(format!(
                "round {round}: {accepted} of {} concurrent verifications of one valid code were \
                 accepted (expected exactly 1); {replayed} refused as replayed; other outcomes: {others:?}",
                config.concurrency
            ));
        }
        let stored = load_record(&*store, &account)
            .await?
            .map(|(_, r)| r.last_used_step());
        let step = totp.step_at(now);
        if stored != Some(Some(step)) {
            return Err(format!(
                "round {round}: after the acceptance the stored last used step is {stored:?}, expected {step}"
            ));
        }
    }
    Ok(())
}

/// N parallel wrong codes under a throttle that never backs off add exactly N failures.
pub(super) async fn exact_failure_count<S: Store + 'static>(
    store: Arc<S>,
    config: &Config,
) -> Result<(), String> {
    let n = config.wrong_codes;
    let throttle = ThrottlePolicy::new(100, 1, 1, 100).map_err(|e| format!("throttle: {e}"))?;
    if n == 0 || n >= 100 {
        return Err(format!(
            "Config::wrong_codes must be 1 to 99 (the lock is at 100), not {n}"
        ));
    }
    let rig = Rig::new(&store, config.engines, throttle)?;
    let account = fresh_account("failure-count")?;
    let totp = enroll(&*rig.engine(0)?, &account, START).await?;
    let now = START.saturating_add(u64::from(totp.period()));
    rig.set_time(now)?;
    let outcomes = rig.verify_all(n, &account, &wrong_code(&totp, now)).await?;
    let wrong = count(&outcomes, is_wrong);
    if wrong != n {
        let others: Vec<_> = outcomes.iter().filter(|o| !is_wrong(o)).collect();
        let hint = if others
            .iter()
            .any(|o| matches!(o, Outcome::Error(e) if e.contains("integrity check")))
        {
            "; integrity check failures mean the store kept a record under another version \
             than `replace_if` reported (versions start at 1 and grow by one per write)"
        } else {
            ""
        };
        return Err(format!(
            "{wrong} of {n} parallel wrong codes were refused as wrong (each must be, and be \
             counted among the failures); other outcomes: {others:?}{hint}"
        ));
    }
    let Some((_, record)) = load_record(&*store, &account).await? else {
        return Err("the enrollment disappeared".to_owned());
    };
    let failures = record.throttle().failures();
    if usize::try_from(failures).ok() != Some(n) || record.throttle().is_locked() {
        return Err(format!(
            "{n} parallel wrong codes left {failures} failures recorded (locked: {}); expected exactly {n} \
             (a lost update lets an attacker guess without being counted)",
            record.throttle().is_locked()
        ));
    }
    Ok(())
}

/// With a lock after 5 failures, parallel guesses get at most 5 wrong-code answers; every
/// other guess is throttled or locked, and the enrollment ends locked.
pub(super) async fn throttle_bounds_guesses<S: Store + 'static>(
    store: Arc<S>,
    config: &Config,
) -> Result<(), String> {
    const LOCK_AFTER: u32 = 5;
    let n = config.guesses;
    let throttle = ThrottlePolicy::new(LOCK_AFTER, 30, 900, LOCK_AFTER)
        .map_err(|e| format!("throttle: {e}"))?;
    let rig = Rig::new(&store, config.engines, throttle)?;
    let account = fresh_account("guesses")?;
    let totp = enroll(&*rig.engine(0)?, &account, START).await?;
    let now = START.saturating_add(u64::from(totp.period()));
    rig.set_time(now)?;
    let outcomes = rig.verify_all(n, &account, &wrong_code(&totp, now)).await?;
    let wrong = count(&outcomes, is_wrong);
    let blocked = count(&outcomes, |o| {
        matches!(
            o,
            Outcome::Refused(Refusal::Locked | Refusal::Throttled { .. })
        )
    });
    let limit = usize::try_from(LOCK_AFTER).unwrap_or(usize::MAX);
    if wrong > limit || wrong.saturating_add(blocked) != n {
        let others: Vec<_> = outcomes
            .iter()
            .filter(|o| {
                !is_wrong(o)
                    && !matches!(
                        o,
                        Outcome::Refused(Refusal::Locked | Refusal::Throttled { .. })
                    )
            })
            .collect();
        return Err(format!(
            "{n} parallel guesses: {wrong} refused as wrong (at most {LOCK_AFTER} allowed), {blocked} \
             throttled or locked; other outcomes: {others:?}"
        ));
    }
    let Some((_, record)) = load_record(&*store, &account).await? else {
        return Err("the enrollment disappeared".to_owned());
    };
    let failures = record.throttle().failures();
    if usize::try_from(failures).ok() != Some(wrong) {
        return Err(format!(
            "{wrong} guesses were answered `wrong code` but {failures} failures are recorded"
        ));
    }
    if n >= limit && !record.throttle().is_locked() {
        return Err(format!(
            "{n} wrong guesses did not lock the enrollment ({failures} failures)"
        ));
    }
    if n >= limit {
        let valid = totp.code_at(now).to_string();
        let outcome = Outcome::from(rig.engine(0)?.verify_login(&account, &valid).await);
        if outcome != Outcome::Refused(Refusal::Locked) {
            return Err(format!(
                "after the lock a valid code got {outcome:?}; expected Locked"
            ));
        }
    }
    Ok(())
}

/// A wrong code, counted: plain, or the one that started a backoff or the lock.
fn is_wrong(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Refused(refusal) if refusal.is_wrong_code())
}
