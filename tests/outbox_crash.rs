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
//! The audit outbox survives a crash: a child process commits engine calls (begin, confirm
//! and a login, under a request context) and is killed with SIGKILL before it delivers
//! anything; the parent opens the same database and its [`Outbox`] delivers exactly the
//! child's events (`EnrollmentStarted`, `EnrollmentConfirmed`, `LoginAccepted`, in that
//! order, with the request context), at least once: a batch the sink refuses is delivered
//! again with the same ids, an acknowledged one never again.
//!
//! The test binary re-executes itself (`current_exe() <test name> --exact --nocapture`)
//! with `TOTP_ENROLL_CRASH_CHILD` set; the child prints `TOTP_ENROLL_CHILD_COMMITTED` once
//! its calls are committed and then waits to be killed.
//!
//! PostgreSQL: set `TOTP_ENROLL_PG_URL` (e.g. `source .ci/postgres.sh && pg_start`); the
//! test runs in a database of its own (created and dropped), so the outbox holds only the
//! child's events. Without the URL it prints that it was skipped and passes, except under
//! `CI=true`.

mod pg_env;

use pg_env::note;

/// Says plainly which crash tests this build skips.
#[test]
fn outbox_crash_suites_status() {
    if cfg!(not(feature = "sqlite")) {
        note(
            "NOTE: SQLite outbox crash test not built (feature `sqlite` off). Run: cargo test --all-features",
        );
    }
    if cfg!(not(feature = "postgres")) {
        note(
            "NOTE: PostgreSQL outbox crash test SKIPPED: feature `postgres` off. Run it with: \
             TOTP_ENROLL_PG_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test --all-features",
        );
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod harness {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, mpsc};
    use std::time::Duration;

    use totp_enroll::testing::conformance::{self, START};
    use totp_enroll::{
        AccountId, AuditDelivery, AuditKind, Login, ManualClock, Outbox, RequestContext, Store,
        engine::DeliveredEvent, error::OutboxError, lifecycle::ThrottlePolicy,
    };

    pub(crate) const ROLE: &str = "TOTP_ENROLL_CRASH_CHILD";
    const COMMITTED: &str = "TOTP_ENROLL_CHILD_COMMITTED";
    /// How long the parent waits for the child's commit.
    const COMMIT_TIMEOUT: Duration = Duration::from_secs(120);

    /// What the parent tells the child (through its environment).
    #[derive(Debug, Clone)]
    pub(crate) struct Task {
        /// The store's URL.
        pub(crate) url: String,
        /// PostgreSQL: the database of this test (empty for SQLite).
        pub(crate) database: String,
        pub(crate) key: [u8; 32],
        pub(crate) account: AccountId,
        /// The request id the child's calls run under.
        pub(crate) request_id: String,
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

    impl Task {
        pub(crate) fn new(url: &str, database: &str) -> Self {
            let account = conformance::fresh_account("outbox-crash").unwrap();
            Self {
                url: url.to_owned(),
                database: database.to_owned(),
                key: conformance::random_key().unwrap(),
                request_id: format!("req-{}", account.as_str()),
                account,
            }
        }

        fn env(&self) -> Vec<(&'static str, String)> {
            vec![
                (ROLE, "1".to_owned()),
                ("TOTP_ENROLL_CRASH_URL", self.url.clone()),
                ("TOTP_ENROLL_CRASH_DATABASE", self.database.clone()),
                ("TOTP_ENROLL_CRASH_KEY", hex(&self.key)),
                (
                    "TOTP_ENROLL_CRASH_ACCOUNT",
                    self.account.as_str().to_owned(),
                ),
                ("TOTP_ENROLL_CRASH_REQUEST_ID", self.request_id.clone()),
            ]
        }

        /// The task given to this process, if it is a child.
        pub(crate) fn from_env() -> Option<Self> {
            std::env::var(ROLE).ok()?;
            let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} unset"));
            Some(Self {
                url: var("TOTP_ENROLL_CRASH_URL"),
                database: var("TOTP_ENROLL_CRASH_DATABASE"),
                key: unhex(&var("TOTP_ENROLL_CRASH_KEY")),
                account: AccountId::new(var("TOTP_ENROLL_CRASH_ACCOUNT")).unwrap(),
                request_id: var("TOTP_ENROLL_CRASH_REQUEST_ID"),
            })
        }

        fn context(&self) -> RequestContext {
            RequestContext::new().with_request_id(&self.request_id)
        }
    }

    /// The child's side: enrolls and logs in through an engine over `store` (the outbox on,
    /// as by default), says so, and waits to be killed without ever delivering.
    pub(crate) async fn child<S: Store + 'static>(task: Task, store: S) -> ! {
        let clock = Arc::new(ManualClock::new(START as i64));
        let engine = conformance::engine(
            store,
            task.key,
            Arc::clone(&clock),
            ThrottlePolicy::default(),
        )
        .unwrap();
        task.context()
            .scope(async {
                let totp = conformance::enroll(&engine, &task.account, START)
                    .await
                    .unwrap();
                let now = START + 30;
                clock.set(now as i64);
                let login = engine
                    .verify_login(&task.account, &totp.code_at(now).to_string())
                    .await
                    .unwrap();
                assert!(matches!(login, Login::Verified(_)), "{login:?}");
            })
            .await;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "\n{COMMITTED}").unwrap();
        stdout.flush().unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }

    /// Runs `test_name` in a child process with `task`, waits until it has committed, and
    /// kills it with SIGKILL.
    pub(crate) fn run_and_kill_child(test_name: &str, task: &Task) {
        let exe = std::env::current_exe().unwrap();
        let mut child = Command::new(&exe)
            .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
            .envs(task.env())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (lines_tx, lines_rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut seen = Vec::new();
        let committed = loop {
            match lines_rx.recv_timeout(COMMIT_TIMEOUT) {
                Ok(line) if line.contains(COMMITTED) => break true,
                Ok(line) => seen.push(line),
                // The child ended (its stdout closed) or took too long.
                Err(_) => break false,
            }
        };
        // SIGKILL: no destructor, no flush, no delivery runs in the child.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let stderr = errors.join().unwrap();
        reader.join().unwrap();
        assert!(
            committed,
            "the child did not report its commit ({status}):\n--- stdout\n{}\n--- stderr\n{stderr}",
            seen.join("\n")
        );
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt as _;
            assert_eq!(
                status.signal(),
                Some(9),
                "the child was killed by SIGKILL, not ended otherwise ({status}); stderr:\n{stderr}"
            );
        }
    }

    /// Why the sink refused a batch.
    #[derive(Debug, thiserror::Error)]
    #[error("the audit service is down (injected)")]
    pub(crate) struct Down;

    /// A sink that refuses the calls whose numbers (from 1) are in `refuse` and records
    /// every batch it was offered.
    pub(crate) struct Sink {
        refuse: Vec<usize>,
        calls: AtomicUsize,
        /// Every batch offered, with whether it was accepted.
        batches: Mutex<Vec<(bool, Vec<DeliveredEvent>)>>,
    }

    impl Sink {
        pub(crate) fn refusing(refuse: &[usize]) -> Self {
            Self {
                refuse: refuse.to_vec(),
                calls: AtomicUsize::new(0),
                batches: Mutex::new(Vec::new()),
            }
        }

        fn batches(&self) -> Vec<(bool, Vec<DeliveredEvent>)> {
            self.batches.lock().unwrap().clone()
        }
    }

    impl AuditDelivery for Sink {
        type Error = Down;

        async fn deliver(&self, events: &[DeliveredEvent]) -> Result<(), Down> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            let accepted = !self.refuse.contains(&call);
            self.batches
                .lock()
                .unwrap()
                .push((accepted, events.to_vec()));
            if accepted { Ok(()) } else { Err(Down) }
        }
    }

    /// The events of `account` in `batches` (accepted ones or refused ones), in order.
    fn of_account(
        batches: &[(bool, Vec<DeliveredEvent>)],
        accepted: bool,
        account: &AccountId,
    ) -> Vec<DeliveredEvent> {
        batches
            .iter()
            .filter(|(a, _)| *a == accepted)
            .flat_map(|(_, batch)| batch.iter())
            .filter(|delivered| delivered.event.account == *account)
            .cloned()
            .collect()
    }

    /// The parent's side, after the child was killed: delivers the outbox of `store` (whose
    /// database only this test uses when `isolated`) and checks that exactly the child's
    /// committed events arrive, at least once, with stable ids.
    pub(crate) async fn check_delivery<S: Store + Clone>(task: &Task, store: S, isolated: bool) {
        let account = &task.account;
        let record = store
            .load(account)
            .await
            .unwrap()
            .expect("the child's enrollment survived the kill")
            .record;
        assert_eq!(
            record.last_used_step(),
            Some((START + 30) / 30),
            "the child's login was committed before it said so"
        );

        // Batches of two; the sink refuses its first call and its third.
        let outbox = Outbox::new(store.clone()).with_batch(2);
        let sink = Sink::refusing(&[1, 3]);
        let mut passes = Vec::new();
        for _ in 0..6 {
            let pass = outbox.deliver_pending(&sink).await;
            let done = matches!(pass, Ok(0));
            passes.push(pass);
            if done {
                break;
            }
        }
        let batches = sink.batches();
        eprintln!(
            "delivery passes: {:?}; batches offered: {:?}",
            passes
                .iter()
                .map(|p| p.as_ref().map_err(ToString::to_string))
                .collect::<Vec<_>>(),
            batches
                .iter()
                .map(|(ok, b)| (*ok, b.iter().map(|d| d.id).collect::<Vec<_>>()))
                .collect::<Vec<_>>()
        );
        for pass in &passes {
            if let Err(error) = pass {
                assert!(
                    matches!(error, OutboxError::Delivery(_)),
                    "a pass fails only because the sink refused a batch: {error}"
                );
            }
        }
        assert!(
            matches!(passes.last(), Some(Ok(0))),
            "the delivery ends with nothing left: {passes:?}"
        );

        // Exactly the child's three events, in order, each delivered (accepted) once.
        let delivered = of_account(&batches, true, account);
        let kinds: Vec<&AuditKind> = delivered.iter().map(|d| &d.event.kind).collect();
        assert!(
            matches!(
                kinds.as_slice(),
                [
                    AuditKind::EnrollmentStarted { .. },
                    AuditKind::EnrollmentConfirmed { .. },
                    AuditKind::LoginAccepted { .. },
                ]
            ),
            "the child's committed events, in order, each accepted once: {kinds:?}"
        );
        assert!(
            delivered.windows(2).all(|pair| pair[0].id < pair[1].id),
            "ids increase in delivery order: {:?}",
            delivered.iter().map(|d| d.id).collect::<Vec<_>>()
        );
        for event in &delivered {
            assert_eq!(
                event.event.context,
                Some(task.context()),
                "the request context is kept in the outbox"
            );
        }

        // A refused batch comes again with the same ids and events.
        let refused = of_account(&batches, false, account);
        assert!(
            !refused.is_empty(),
            "the sink refused some of the child's events"
        );
        for event in &refused {
            assert!(
                delivered.contains(event),
                "refused event {} was delivered again with the same id: {event:?}",
                event.id
            );
        }
        if isolated {
            // Only the child's events are in this database: the refusals and the batches
            // are exactly as planned.
            let offered: Vec<(bool, Vec<u64>)> = batches
                .iter()
                .map(|(ok, batch)| (*ok, batch.iter().map(|d| d.id).collect()))
                .collect();
            let ids: Vec<u64> = delivered.iter().map(|d| d.id).collect();
            assert_eq!(
                offered,
                vec![
                    (false, vec![ids[0], ids[1]]),
                    (true, vec![ids[0], ids[1]]),
                    (false, vec![ids[2]]),
                    (true, vec![ids[2]]),
                ],
                "batches of two, a refused batch offered again whole, an accepted one never"
            );
            assert_eq!(
                passes
                    .iter()
                    .map(|p| p.as_ref().ok().copied())
                    .collect::<Vec<_>>(),
                vec![None, None, Some(1), Some(0)],
                "passes: refused, 2 delivered then refused, 1 delivered, nothing left"
            );
        }

        // Acknowledged means gone: another delivery offers none of them, and the store holds
        // none of the account's events.
        let again = Sink::refusing(&[]);
        let count = outbox.deliver_pending(&again).await.unwrap();
        let redelivered = of_account(&again.batches(), true, account);
        assert!(
            redelivered.is_empty(),
            "acknowledged events were delivered again: {redelivered:?}"
        );
        if isolated {
            assert_eq!(count, 0);
        }
        let pending = store.pending_events(usize::MAX).await.unwrap();
        assert!(
            pending.iter().all(|entry| entry.account != *account),
            "acknowledged events are removed from the outbox"
        );
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::PathBuf;
    use std::sync::Arc;

    use totp_enroll::store::SqliteStore;

    use super::harness::{Task, check_delivery, child, run_and_kill_child};

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

    /// The child commits into a WAL file and is killed; the parent delivers its events.
    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite_events_of_a_killed_process_are_delivered_at_least_once() {
        if let Some(task) = Task::from_env() {
            let store = SqliteStore::connect(&task.url).await.unwrap();
            child(task, store).await;
        }
        let dir = TempDir::new("outbox-crash");
        let url = format!("sqlite://{}", dir.0.join("outbox.db").display());
        let task = Task::new(&url, "");
        let name = "sqlite::sqlite_events_of_a_killed_process_are_delivered_at_least_once";
        tokio::task::spawn_blocking({
            let task = task.clone();
            move || run_and_kill_child(name, &task)
        })
        .await
        .unwrap();
        // The WAL the killed child left behind is recovered on open.
        let store = Arc::new(SqliteStore::connect(&url).await.unwrap());
        check_delivery(&task, Arc::clone(&store), true).await;
        store.close().await;
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use std::sync::Arc;

    use sqlx::Connection as _;
    use sqlx::postgres::PgConnection;
    use totp_enroll::store::PostgresStore;

    use super::harness::{Task, check_delivery, child, run_and_kill_child};
    use super::note;

    async fn open(task: &Task) -> PostgresStore {
        let mut options = PostgresStore::options(&task.url).unwrap();
        if !task.database.is_empty() {
            options = options.database(&task.database);
        }
        PostgresStore::connect_with(options, PostgresStore::pool_options())
            .await
            .unwrap_or_else(|e| panic!("connecting to TOTP_ENROLL_PG_URL failed: {e}"))
    }

    /// Creates a database of this test's own; `None` (with a note) if the role may not.
    async fn create_database(url: &str, name: &str) -> Option<()> {
        let mut admin = PgConnection::connect(url)
            .await
            .unwrap_or_else(|e| panic!("connecting to TOTP_ENROLL_PG_URL failed: {e}"));
        let created = sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await;
        let _ = admin.close().await;
        match created {
            Ok(_) => Some(()),
            Err(error) => {
                note(&format!(
                    "NOTE: the PostgreSQL outbox crash test could not create a database of its \
                     own ({error}); it runs in the shared database, checking only its account's \
                     events (and delivering every other pending event too)."
                ));
                None
            }
        }
    }

    async fn drop_database(url: &str, name: &str) {
        let Ok(mut admin) = PgConnection::connect(url).await else {
            return;
        };
        if let Err(error) =
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await
        {
            note(&format!(
                "NOTE: dropping the test database {name} failed: {error}"
            ));
        }
        let _ = admin.close().await;
    }

    /// The child commits through its own pool and is killed (its sessions end with it);
    /// the parent delivers its events.
    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_events_of_a_killed_process_are_delivered_at_least_once() {
        if let Some(task) = Task::from_env() {
            let store = open(&task).await;
            child(task, store).await;
        }
        let Some(url) = super::pg_env::pg_url("outbox crash test") else {
            return;
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("totp_enroll_crash_{}_{nanos}", std::process::id());
        let isolated = create_database(&url, &name).await.is_some();
        let task = Task::new(&url, if isolated { &name } else { "" });
        let test = "postgres::postgres_events_of_a_killed_process_are_delivered_at_least_once";
        tokio::task::spawn_blocking({
            let task = task.clone();
            move || run_and_kill_child(test, &task)
        })
        .await
        .unwrap();
        let store = Arc::new(open(&task).await);
        check_delivery(&task, Arc::clone(&store), isolated).await;
        store.close().await;
        if isolated {
            drop_database(&url, &name).await;
        }
    }
}
