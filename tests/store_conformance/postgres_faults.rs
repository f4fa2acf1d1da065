use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use totp_enroll::store::{Listed, OutboxEntry, PostgresStore};
use totp_enroll::testing::conformance::fresh_account;
use totp_enroll::{
    AccountId, Login, Store, error::EngineError, error::Refusal, error::StoreError,
    lifecycle::Enrollment, store::Versioned,
};

use super::rig::{Rig, chain, last_used_step};
use super::{LATEST_SCHEMA, PG_SERVER, note, pg_url};

/// What happens between the engine's load and its write.
enum Hook {
    /// `pg_terminate_backend` of the store's sessions (a dropped connection).
    KillSessions,
    /// A fast shutdown and start of the server (`TOTP_ENROLL_PG_RESTART`).
    RestartServer(String),
}

/// A store that, once armed, runs its hook between the engine's load and its write.
struct Interrupted {
    inner: PostgresStore,
    admin: PostgresStore,
    application_name: String,
    hook: Hook,
    armed: AtomicBool,
}

impl Interrupted {
    /// A store whose pool does not ping connections before use (so the dead one is
    /// really used) and an admin store, at `url`.
    async fn connect(url: &str, hook: Hook) -> Self {
        let application_name = fresh_account("totp-interrupted")
            .unwrap()
            .as_str()
            .to_owned();
        let inner = PostgresStore::connect_with(
            PostgresStore::options(url)
                .unwrap()
                .application_name(&application_name),
            PostgresStore::pool_options()
                .max_connections(2)
                .test_before_acquire(false),
        )
        .await
        .unwrap();
        Self {
            inner,
            admin: PostgresStore::connect(url).await.unwrap(),
            application_name,
            hook,
            armed: AtomicBool::new(false),
        }
    }

    async fn run_hook(&self) {
        match &self.hook {
            Hook::KillSessions => self.kill_sessions().await,
            Hook::RestartServer(script) => {
                let script = script.clone();
                let status = tokio::task::spawn_blocking(move || {
                    std::process::Command::new("sh").arg(&script).status()
                })
                .await
                .unwrap()
                .unwrap();
                assert!(status.success(), "restarting the server failed: {status}");
            }
        }
    }

    async fn kill_sessions(&self) {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&self.application_name)
        .execute(self.admin.pool())
        .await
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let alive: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1",
            )
            .bind(&self.application_name)
            .fetch_one(self.admin.pool())
            .await
            .unwrap();
            if alive == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "sessions did not end");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Store for Interrupted {
    async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
        self.inner.load(account).await
    }

    async fn version(&self, account: &AccountId) -> Result<Option<u64>, StoreError> {
        self.inner.version(account).await
    }

    async fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            self.run_hook().await;
        }
        self.inner
            .replace_if(account, expected, record, events)
            .await
    }

    async fn append_events(
        &self,
        account: &AccountId,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        self.inner.append_events(account, events).await
    }

    async fn forget(
        &self,
        account: &AccountId,
        expected: u64,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        self.inner.forget(account, expected, events).await
    }

    async fn reinstate(
        &self,
        account: &AccountId,
        expected: u64,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        self.inner
            .reinstate(account, expected, record, events)
            .await
    }

    async fn list(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        self.inner.list(after, limit).await
    }

    async fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.inner.pending_events(limit).await
    }

    async fn acknowledge(&self, ids: &[u64]) -> Result<(), StoreError> {
        self.inner.acknowledge(ids).await
    }
}

/// Verify with the hook between load and write: a typed backend error and the step not
/// written; the pool then recovers and the same code, never consumed, is accepted once.
async fn fails_closed_when_interrupted(url: &str, hook: Hook) {
    let store = Arc::new(Interrupted::connect(url, hook).await);
    let rig = Rig::new(Arc::clone(&store));
    let (account, totp) = rig.enroll("pg-interrupted").await;
    let confirmed_step = last_used_step(&store.admin, &account).await;
    let now = rig.next_period();
    let code = totp.code_at(now).to_string();

    store.armed.store(true, Ordering::SeqCst);
    match rig.engine.verify_login(&account, &code).await {
        Err(EngineError::Store(StoreError::Backend(error))) => {
            eprintln!("interrupted verify: {}", chain(&*error));
        }
        other => panic!("a lost connection must give StoreError::Backend, got {other:?}"),
    }
    assert_eq!(
        last_used_step(&store.admin, &account).await,
        confirmed_step,
        "nothing was written"
    );

    // The pool drops dead connections as they fail; within a few tries the code is
    // accepted, once.
    let mut accepted = 0;
    for _ in 0..4 {
        match rig.engine.verify_login(&account, &code).await {
            Ok(Login::Verified(_)) => {
                accepted += 1;
                break;
            }
            Err(EngineError::Store(StoreError::Backend(_))) => {
                assert_eq!(last_used_step(&store.admin, &account).await, confirmed_step);
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(accepted, 1, "the pool recovered");
    assert_eq!(
        last_used_step(&store.admin, &account).await,
        Some(totp.step_at(now))
    );
    assert!(matches!(
        rig.engine.verify_login(&account, &code).await,
        Err(EngineError::Refused(Refusal::Replayed))
    ));
}

/// The store's connections are terminated between load and write.
#[tokio::test(flavor = "multi_thread")]
async fn connection_killed_between_load_and_write_fails_closed() {
    let Some(url) = pg_url() else { return };
    let _server = PG_SERVER.read().await;
    fails_closed_when_interrupted(&url, Hook::KillSessions).await;
}

/// The server restarts (fast shutdown, start) between load and write. Needs
/// `TOTP_ENROLL_PG_RESTART` (exported by `.ci/postgres.sh`); other PostgreSQL tests of
/// this binary wait while it runs.
#[tokio::test(flavor = "multi_thread")]
async fn server_restart_between_load_and_write_fails_closed() {
    let Some(url) = pg_url() else { return };
    let Ok(script) = std::env::var("TOTP_ENROLL_PG_RESTART") else {
        note(
            "NOTE: PostgreSQL restart test SKIPPED: TOTP_ENROLL_PG_RESTART (a script that \
             restarts the server, exported by `.ci/postgres.sh`) is not set.",
        );
        return;
    };
    let _exclusive = PG_SERVER.write().await;
    fails_closed_when_interrupted(&url, Hook::RestartServer(script)).await;
}

/// No server: connecting is a typed backend error (not a hang, not a panic).
#[tokio::test(flavor = "multi_thread")]
async fn unreachable_server_is_a_backend_error() {
    if pg_url().is_none() {
        return;
    }
    let result = PostgresStore::connect_with(
        PostgresStore::options("postgres://postgres@127.0.0.1:1/postgres").unwrap(),
        PostgresStore::pool_options().acquire_timeout(Duration::from_secs(3)),
    )
    .await;
    assert!(
        matches!(result, Err(StoreError::Backend(_))),
        "got {result:?}"
    );
}

/// Migrations are recorded once, even when several processes connect at once, and
/// connecting again (as every process does) is a no-op.
#[tokio::test(flavor = "multi_thread")]
async fn migrations_are_recorded_and_idempotent() {
    let Some(url) = pg_url() else { return };
    let _server = PG_SERVER.read().await;
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    for handle in handles {
        let store = handle.await.unwrap().unwrap();
        assert_eq!(store.schema_version().await.unwrap(), LATEST_SCHEMA);
    }
    let store = PostgresStore::connect(&url).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM totp_enroll_schema_version")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(rows, LATEST_SCHEMA, "each migration recorded once");
}
