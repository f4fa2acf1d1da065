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
//! Two independent processes, each with its own engine and its own connection pool, share
//! one database (a SQLite file; a PostgreSQL server): 32 concurrent verifications of one
//! valid code in each, started at the same instant, accept exactly one in total; parallel
//! wrong codes from both add exactly their number of failures.
//!
//! The test binary re-executes itself (`current_exe() <test name> --exact --nocapture`)
//! with `TOTP_ENROLL_CHILD_ROLE` set; the child does its share and prints one
//! `TOTP_ENROLL_CHILD_RESULT …` line, which the parent adds up.
//!
//! PostgreSQL: set `TOTP_ENROLL_PG_URL` (e.g. `source .ci/postgres.sh && pg_start`); without
//! it those tests print that they were skipped and pass, except under `CI=true`.

mod pg_env;

use pg_env::note;

/// Says plainly which cross-process tests this build skips.
#[test]
fn cross_process_suites_status() {
    if cfg!(not(feature = "sqlite")) {
        note(
            "NOTE: SQLite cross-process tests not built (feature `sqlite` off). Run: cargo test --all-features",
        );
    }
    if cfg!(not(feature = "postgres")) {
        note(
            "NOTE: PostgreSQL cross-process tests SKIPPED: feature `postgres` off. Run them with: \
             TOTP_ENROLL_PG_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test --all-features",
        );
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod harness {
    use std::collections::HashMap;
    use std::process::{Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use totp_enroll::testing::conformance::{self, Outcome, START};
    use totp_enroll::{
        AccountId, ManualClock, StepUp, Store, error::Refusal, lifecycle::ThrottlePolicy, otp::Totp,
    };

    pub(crate) const ROLE: &str = "TOTP_ENROLL_CHILD_ROLE";
    const RESULT: &str = "TOTP_ENROLL_CHILD_RESULT";
    /// Verifications per child.
    pub(crate) const TASKS: usize = 32;
    /// Wrong codes per child (under a throttle that locks only at 100).
    pub(crate) const WRONG: usize = 20;

    /// What a child does.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Mode {
        /// Verify one valid code `TASKS` times concurrently.
        Verify,
        /// Send `WRONG` wrong codes concurrently.
        Wrong,
        /// Submit one recovery code `TASKS` times concurrently.
        Recovery,
    }

    /// What the parent tells a child (through its environment).
    #[derive(Debug, Clone)]
    pub(crate) struct Task {
        pub(crate) mode: Mode,
        pub(crate) url: String,
        pub(crate) key: [u8; 32],
        pub(crate) account: AccountId,
        pub(crate) now: u64,
        pub(crate) code: String,
        pub(crate) start_at_ms: u128,
    }

    /// A child's tally.
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub(crate) struct Tally {
        pub(crate) verified: usize,
        pub(crate) replayed: usize,
        pub(crate) wrong: usize,
        pub(crate) other: usize,
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    fn now_ms() -> u128 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis()
    }

    pub(crate) fn throttle(mode: Mode) -> ThrottlePolicy {
        match mode {
            Mode::Verify => ThrottlePolicy::default(),
            // Every submission of a used recovery code is a failure: no lock within a run.
            Mode::Wrong | Mode::Recovery => ThrottlePolicy::new(100, 1, 1, 100).unwrap(),
        }
    }

    impl Task {
        fn env(&self) -> Vec<(String, String)> {
            let mode = match self.mode {
                Mode::Verify => "verify",
                Mode::Wrong => "wrong",
                Mode::Recovery => "recovery",
            };
            [
                (ROLE, mode.to_owned()),
                ("TOTP_ENROLL_CHILD_URL", self.url.clone()),
                ("TOTP_ENROLL_CHILD_KEY", hex(&self.key)),
                (
                    "TOTP_ENROLL_CHILD_ACCOUNT",
                    self.account.as_str().to_owned(),
                ),
                ("TOTP_ENROLL_CHILD_NOW", self.now.to_string()),
                ("TOTP_ENROLL_CHILD_CODE", self.code.clone()),
                (
                    "TOTP_ENROLL_CHILD_START_AT_MS",
                    self.start_at_ms.to_string(),
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
        }

        /// The task given to this process, if it is a child.
        pub(crate) fn from_env() -> Option<Self> {
            let mode = match std::env::var(ROLE).ok()?.as_str() {
                "verify" => Mode::Verify,
                "wrong" => Mode::Wrong,
                "recovery" => Mode::Recovery,
                other => panic!("unknown {ROLE} {other}"),
            };
            let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} unset"));
            Some(Self {
                mode,
                url: var("TOTP_ENROLL_CHILD_URL"),
                key: unhex(&var("TOTP_ENROLL_CHILD_KEY")),
                account: AccountId::new(var("TOTP_ENROLL_CHILD_ACCOUNT")).unwrap(),
                now: var("TOTP_ENROLL_CHILD_NOW").parse().unwrap(),
                code: var("TOTP_ENROLL_CHILD_CODE"),
                start_at_ms: var("TOTP_ENROLL_CHILD_START_AT_MS").parse().unwrap(),
            })
        }
    }

    /// The child's side: its own engine over `store`, waits for the common start time, runs
    /// its tasks concurrently and prints its tally.
    pub(crate) async fn child<S: Store + 'static>(task: Task, store: S) {
        let clock = Arc::new(ManualClock::new(task.now as i64));
        let engine = Arc::new(
            conformance::engine(Arc::new(store), task.key, clock, throttle(task.mode)).unwrap(),
        );
        let tasks = match task.mode {
            Mode::Verify | Mode::Recovery => TASKS,
            Mode::Wrong => WRONG,
        };
        let wait = task.start_at_ms.saturating_sub(now_ms());
        if wait == 0 {
            eprintln!(
                "child {}: started {} ms after the common start time",
                std::process::id(),
                now_ms() - task.start_at_ms
            );
        }
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        let outcomes = conformance::race(tasks, |_| {
            let engine = Arc::clone(&engine);
            let account = task.account.clone();
            let code = task.code.clone();
            let mode = task.mode;
            async move {
                Outcome::from(match mode {
                    Mode::Recovery => engine.verify_recovery_code(&account, &code).await,
                    Mode::Verify | Mode::Wrong => engine.verify_login(&account, &code).await,
                })
            }
        })
        .await
        .unwrap();
        let mut tally = Tally::default();
        for outcome in &outcomes {
            match outcome {
                Outcome::Verified | Outcome::Recovered => tally.verified += 1,
                Outcome::Refused(Refusal::Replayed) => tally.replayed += 1,
                Outcome::Refused(Refusal::WrongCode) => tally.wrong += 1,
                other => {
                    eprintln!("child {}: unexpected outcome {other:?}", std::process::id());
                    tally.other += 1;
                }
            }
        }
        println!(
            "\n{RESULT} verified={} replayed={} wrong={} other={}",
            tally.verified, tally.replayed, tally.wrong, tally.other
        );
    }

    /// Runs `test_name` in two child processes with `task`, and returns their tallies.
    pub(crate) async fn run_children(test_name: &str, task: &Task) -> Vec<Tally> {
        let exe = std::env::current_exe().unwrap();
        let mut children = Vec::new();
        for _ in 0..2 {
            let child = Command::new(&exe)
                .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
                .envs(task.env())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            children.push(child);
        }
        let mut tallies = Vec::new();
        for child in children {
            let output = tokio::task::spawn_blocking(move || child.wait_with_output())
                .await
                .unwrap()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            let line = stdout
                .lines()
                .find_map(|l| l.split_once(RESULT).map(|(_, rest)| rest));
            let (true, Some(line)) = (output.status.success(), line) else {
                panic!(
                    "child failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
                    output.status
                );
            };
            let fields: HashMap<&str, usize> = line
                .split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k, v.parse().unwrap()))
                .collect();
            let tally = Tally {
                verified: fields["verified"],
                replayed: fields["replayed"],
                wrong: fields["wrong"],
                other: fields["other"],
            };
            eprintln!("child tally: {tally:?}");
            if !stderr.trim().is_empty() {
                eprintln!("child stderr:\n{stderr}");
            }
            tallies.push(tally);
        }
        tallies
    }

    /// The parent's side of one scenario over `store` (reachable by the children at `url`):
    /// enrolls a fresh account, runs two children, checks the totals against the store.
    pub(crate) async fn parent<S: Store + 'static>(
        test_name: &str,
        mode: Mode,
        url: &str,
        store: S,
    ) {
        let key = conformance::random_key().unwrap();
        let clock = Arc::new(ManualClock::new(START as i64));
        let engine = conformance::engine(store, key, Arc::clone(&clock), throttle(mode)).unwrap();
        let account = conformance::fresh_account("cross-process").unwrap();
        let totp: Totp = conformance::enroll(&engine, &account, START).await.unwrap();
        let now = START + 30;
        let code = match mode {
            Mode::Verify => totp.code_at(now).to_string(),
            Mode::Wrong => conformance::wrong_code(&totp, now),
            Mode::Recovery => {
                clock.set(now as i64);
                let codes = engine
                    .issue_recovery_codes(
                        &account,
                        &totp.code_at(now).to_string(),
                        &StepUp::transaction_password_verified(&account, now),
                    )
                    .await
                    .unwrap();
                codes.iter().next().unwrap().grouped().to_string()
            }
        };
        let task = Task {
            mode,
            url: url.to_owned(),
            key,
            account: account.clone(),
            now,
            code,
            start_at_ms: now_ms() + 3_000,
        };
        let tallies = run_children(test_name, &task).await;
        let total = tallies.iter().fold(Tally::default(), |a, t| Tally {
            verified: a.verified + t.verified,
            replayed: a.replayed + t.replayed,
            wrong: a.wrong + t.wrong,
            other: a.other + t.other,
        });
        let record = engine.store().load(&account).await.unwrap().unwrap().record;
        eprintln!(
            "{test_name}: totals {total:?}; stored failures {}, last used step {:?}",
            record.throttle().failures(),
            record.last_used_step()
        );
        match mode {
            Mode::Verify => {
                assert_eq!(
                    total,
                    Tally {
                        verified: 1,
                        replayed: 2 * TASKS - 1,
                        wrong: 0,
                        other: 0
                    },
                    "two processes × {TASKS} concurrent verifications of one code: exactly one acceptance"
                );
                assert_eq!(record.last_used_step(), Some(totp.step_at(now)));
            }
            Mode::Recovery => {
                assert_eq!(
                    total,
                    Tally {
                        verified: 1,
                        replayed: 0,
                        wrong: 2 * TASKS - 1,
                        other: 0
                    },
                    "two processes × {TASKS} concurrent submissions of one recovery code: exactly one acceptance"
                );
                assert_eq!(
                    record.recovery_codes_remaining(),
                    totp_enroll::RecoveryCodes::DEFAULT_COUNT - 1
                );
            }
            Mode::Wrong => {
                assert_eq!(
                    total,
                    Tally {
                        verified: 0,
                        replayed: 0,
                        wrong: 2 * WRONG,
                        other: 0
                    },
                    "every wrong code is refused as wrong"
                );
                assert_eq!(
                    record.throttle().failures() as usize,
                    2 * WRONG,
                    "two processes × {WRONG} parallel wrong codes: exactly that many failures recorded"
                );
            }
        }
    }
    /// The parent's engine holds its own last write (it decides the next login from it and
    /// writes directly); two child processes then accept the next code behind its back.
    /// The parent's held record is stale: the same code is refused as a replay (its direct
    /// write conflicts, it loads and decides again), and its next code is accepted once.
    pub(crate) async fn stale_parent<S: Store + 'static>(test_name: &str, url: &str, store: S) {
        let key = conformance::random_key().unwrap();
        let clock = Arc::new(ManualClock::new(START as i64));
        let engine =
            conformance::engine(store, key, Arc::clone(&clock), throttle(Mode::Verify)).unwrap();
        let account = conformance::fresh_account("cross-process-stale").unwrap();
        let totp: Totp = conformance::enroll(&engine, &account, START).await.unwrap();
        let login = |at: u64| {
            let (engine, account, clock) = (&engine, &account, &clock);
            let code = totp.code_at(at).to_string();
            async move {
                clock.set(at as i64);
                conformance::Outcome::from(engine.verify_login(account, &code).await)
            }
        };
        assert_eq!(login(START + 30).await, conformance::Outcome::Verified);

        let now = START + 60;
        let task = Task {
            mode: Mode::Verify,
            url: url.to_owned(),
            key,
            account: account.clone(),
            now,
            code: totp.code_at(now).to_string(),
            start_at_ms: now_ms() + 3_000,
        };
        let tallies = run_children(test_name, &task).await;
        let verified: usize = tallies.iter().map(|t| t.verified).sum();
        assert_eq!(verified, 1, "the children accept the code once");

        assert_eq!(
            login(now).await,
            conformance::Outcome::Refused(Refusal::Replayed),
            "the stale held record must not accept the children's code again"
        );
        assert_eq!(login(START + 90).await, conformance::Outcome::Verified);
        assert_eq!(
            login(START + 90).await,
            conformance::Outcome::Refused(Refusal::Replayed)
        );
        let record = engine.store().load(&account).await.unwrap().unwrap().record;
        assert_eq!(record.last_used_step(), Some(totp.step_at(START + 90)));
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::PathBuf;

    use totp_enroll::store::SqliteStore;

    use super::harness::{Mode, Task, child, parent, stale_parent};

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let path = std::env::temp_dir()
                .join(format!("totp-enroll-{tag}-{}-{nanos}", std::process::id()));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    async fn scenario(test_name: &str, mode: Option<Mode>) {
        if let Some(task) = Task::from_env() {
            let store = SqliteStore::connect(&task.url).await.unwrap();
            return child(task, store).await;
        }
        let dir = TempDir::new("cross-process");
        let url = format!("sqlite://{}", dir.0.join("shared.db").display());
        // The parent creates the file (and its WAL mode) before the children open it.
        let store = SqliteStore::connect(&url).await.unwrap();
        match mode {
            Some(mode) => parent(test_name, mode, &url, store).await,
            None => stale_parent(test_name, &url, store).await,
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite_two_processes_accept_one_code_once() {
        scenario(
            "sqlite::sqlite_two_processes_accept_one_code_once",
            Some(Mode::Verify),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite_two_processes_count_every_wrong_code() {
        scenario(
            "sqlite::sqlite_two_processes_count_every_wrong_code",
            Some(Mode::Wrong),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite_two_processes_accept_one_recovery_code_once() {
        scenario(
            "sqlite::sqlite_two_processes_accept_one_recovery_code_once",
            Some(Mode::Recovery),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite_a_stale_held_record_accepts_once_and_refuses_replays() {
        scenario(
            "sqlite::sqlite_a_stale_held_record_accepts_once_and_refuses_replays",
            None,
        )
        .await;
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use totp_enroll::store::PostgresStore;

    use super::harness::{Mode, Task, child, parent, stale_parent};

    async fn scenario(test_name: &str, mode: Option<Mode>) {
        if let Some(task) = Task::from_env() {
            let store = PostgresStore::connect(&task.url).await.unwrap();
            return child(task, store).await;
        }
        let Some(url) = super::pg_env::pg_url("cross-process tests") else {
            return;
        };
        let store = PostgresStore::connect(&url).await.unwrap();
        match mode {
            Some(mode) => parent(test_name, mode, &url, store).await,
            None => stale_parent(test_name, &url, store).await,
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_two_processes_accept_one_code_once() {
        scenario(
            "postgres::postgres_two_processes_accept_one_code_once",
            Some(Mode::Verify),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_two_processes_accept_one_recovery_code_once() {
        scenario(
            "postgres::postgres_two_processes_accept_one_recovery_code_once",
            Some(Mode::Recovery),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_two_processes_count_every_wrong_code() {
        scenario(
            "postgres::postgres_two_processes_count_every_wrong_code",
            Some(Mode::Wrong),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_a_stale_held_record_accepts_once_and_refuses_replays() {
        scenario(
            "postgres::postgres_a_stale_held_record_accepts_once_and_refuses_replays",
            None,
        )
        .await;
    }
}
