//! The SQL stores inside the application's own database: opened on the application's pool
//! (`from_pool`), which runs no DDL and checks the schema version; migrated on request by
//! the application's migration runner with the SQL the store exposes (`migrations()`).
//! The conformance suite on such stores runs in `main.rs` (`sqlite_from_pool`,
//! `postgres_from_pool`).

use std::sync::Arc;

use totp_enroll::Store;
use totp_enroll::error::StoreError;
use totp_enroll::store::Migration;

use super::Fixture;
use super::rig::Rig;

/// What an application's migration runner must find in each migration: numbered 1, 2, 3,
/// … in order, each text recording its own version and description.
fn assert_runner_ready(migrations: &[Migration], latest: i64) {
    let versions: Vec<i64> = migrations.iter().map(Migration::version).collect();
    let expected: Vec<i64> = (1..=latest).collect();
    assert_eq!(versions, expected, "numbered from 1, in order, no gap");
    for migration in migrations {
        let description = migration.description();
        assert!(
            !description.is_empty() && !description.contains('\''),
            "a plain description: {description:?}"
        );
        let sql = migration.sql();
        let record = sql
            .find("INSERT INTO totp_enroll_schema_version")
            .unwrap_or_else(|| panic!("migration {} records no version", migration.version()));
        assert!(
            sql[record..].contains(&format!("({}, '{description}'", migration.version())),
            "migration {} records another version: {}",
            migration.version(),
            &sql[record..]
        );
        assert!(
            sql[..record].contains("CREATE TABLE IF NOT EXISTS totp_enroll_schema_version"),
            "migration {} creates the version table it records into",
            migration.version()
        );
    }
}

#[cfg(feature = "sqlite")]
pub(crate) mod sqlite {
    use super::*;
    use crate::{LATEST_SQLITE_SCHEMA as LATEST, TempDir};
    use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
    use totp_enroll::store::SqliteStore;

    /// The application's pool on the file database `url`, with the options the store's
    /// docs advise.
    async fn app_pool(url: &str) -> SqlitePool {
        SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(SqliteStore::options(url).unwrap())
            .await
            .unwrap()
    }

    /// The application's pool on a private in-memory database: one connection, never
    /// closed; no other pool can reach that database.
    async fn app_memory_pool() -> SqlitePool {
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(SqliteStore::options("sqlite::memory:").unwrap())
            .await
            .unwrap()
    }

    /// `migrations` applied as an application's migration runner applies its files: in
    /// order, each in a transaction of its own, the text as given.
    pub(crate) async fn run_as_runner(pool: &SqlitePool, migrations: &[Migration]) {
        for migration in migrations {
            let mut tx = pool.begin().await.unwrap();
            sqlx::raw_sql(migration.sql())
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("migration {}: {e}", migration.version()));
            tx.commit().await.unwrap();
        }
    }

    /// Every table, index and trigger of the database, with its SQL.
    async fn schema(pool: &SqlitePool) -> Vec<(String, String, Option<String>)> {
        sqlx::query_as("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    /// For the conformance suite: a store on the application's pool of a file database
    /// that the application's runner migrated.
    pub(crate) async fn from_pool_fixture() -> Option<Fixture<SqliteStore>> {
        let dir = TempDir::new("from-pool");
        let pool = app_pool(&dir.sqlite_url()).await;
        run_as_runner(&pool, SqliteStore::migrations()).await;
        let store = SqliteStore::from_pool(pool).await.unwrap();
        Some(Fixture {
            store: Arc::new(store),
            _dir: Some(dir),
            _server: None,
        })
    }

    #[test]
    fn the_exposed_migrations_are_numbered_and_record_their_version() {
        assert_runner_ready(SqliteStore::migrations(), LATEST);
    }

    /// One pool for the application and the store: the application's query on its pool
    /// sees the store's table and rows (in a private in-memory database that no second
    /// pool could reach), joined with its own table; closing the application's pool
    /// leaves the store without a connection.
    #[tokio::test(flavor = "multi_thread")]
    async fn from_pool_shares_the_applications_pool() {
        let pool = app_memory_pool().await;
        sqlx::query("CREATE TABLE app_customers (login_id TEXT PRIMARY KEY, name TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        run_as_runner(&pool, SqliteStore::migrations()).await;
        let store = Arc::new(SqliteStore::from_pool(pool.clone()).await.unwrap());
        let rig = Rig::new(Arc::clone(&store));
        let (account, _) = rig.enroll("shared-pool").await;

        sqlx::query("INSERT INTO app_customers (login_id, name) VALUES (?1, 'Taro')")
            .bind(account.as_str())
            .execute(&pool)
            .await
            .unwrap();
        let (name, version): (String, i64) = sqlx::query_as(
            "SELECT c.name, e.version FROM app_customers c \
             JOIN totp_enroll_enrollments e ON e.account = c.login_id",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(name, "Taro");
        assert!(version >= 1, "the store's row, seen by the application");
        let events: i64 =
            sqlx::query_scalar("SELECT count(*) FROM totp_enroll_outbox WHERE account = ?1")
                .bind(account.as_str())
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(events > 0, "the store's outbox, seen by the application");

        pool.close().await;
        assert!(
            matches!(store.load(&account).await, Err(StoreError::Backend(_))),
            "the store has no pool of its own"
        );
    }

    /// On a database never migrated, `from_pool` refuses with the typed schema error and
    /// creates nothing: not even the version table.
    #[tokio::test(flavor = "multi_thread")]
    async fn from_pool_refuses_an_unmigrated_database_and_creates_nothing() {
        let dir = TempDir::new("unmigrated");
        let pool = app_pool(&dir.sqlite_url()).await;
        match SqliteStore::from_pool(pool.clone()).await {
            Err(StoreError::Schema { found, expected }) => {
                assert_eq!((found, expected), (0, LATEST));
            }
            other => panic!("an unmigrated database must be refused, got {other:?}"),
        }
        assert!(schema(&pool).await.is_empty(), "nothing was created");
    }

    /// A schema older or newer than this build's is refused by `from_pool`, which changes
    /// nothing; `migrate_pool` refuses the newer one too, with the same typed error.
    #[tokio::test(flavor = "multi_thread")]
    async fn from_pool_refuses_an_older_or_newer_schema_and_changes_nothing() {
        let dir = TempDir::new("older-newer");
        let pool = app_pool(&dir.sqlite_url()).await;
        let (first, rest) = SqliteStore::migrations().split_at(1);
        run_as_runner(&pool, first).await;
        let before = schema(&pool).await;
        match SqliteStore::from_pool(pool.clone()).await {
            Err(StoreError::Schema { found, expected }) => {
                assert_eq!((found, expected), (1, LATEST));
            }
            other => panic!("an older schema must be refused, got {other:?}"),
        }
        assert_eq!(schema(&pool).await, before, "nothing was changed");

        run_as_runner(&pool, rest).await;
        SqliteStore::from_pool(pool.clone()).await.unwrap();
        sqlx::query(
            "INSERT INTO totp_enroll_schema_version (version, description, applied_at) \
             VALUES (?1, 'from a newer build', 0)",
        )
        .bind(LATEST + 1)
        .execute(&pool)
        .await
        .unwrap();
        for refused in [
            SqliteStore::from_pool(pool.clone()).await.map(|_| ()),
            SqliteStore::migrate_pool(&pool).await,
        ] {
            match refused {
                Err(StoreError::Schema { found, expected }) => {
                    assert_eq!((found, expected), (LATEST + 1, LATEST));
                }
                other => panic!("a newer schema must be refused, got {other:?}"),
            }
        }
    }

    /// The exposed SQL, applied in order by the application's runner, gives the schema
    /// the store's own migration gives, records every version, and opens with `from_pool`;
    /// the store's `migrate` then has nothing left to do.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_exposed_sql_applied_by_the_applications_runner_opens_with_from_pool() {
        let dir = TempDir::new("runner");
        let pool = app_pool(&dir.sqlite_url()).await;
        run_as_runner(&pool, SqliteStore::migrations()).await;
        let store = SqliteStore::from_pool(pool.clone()).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), LATEST);

        let embedded_dir = TempDir::new("embedded");
        let embedded = SqliteStore::connect(&embedded_dir.sqlite_url())
            .await
            .unwrap();
        assert_eq!(
            schema(&pool).await,
            schema(embedded.pool()).await,
            "the same schema as the store's own migration"
        );
        let recorded: Vec<(i64, String)> = sqlx::query_as(
            "SELECT version, description FROM totp_enroll_schema_version ORDER BY version",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let listed: Vec<(i64, String)> = SqliteStore::migrations()
            .iter()
            .map(|m| (m.version(), m.description().to_owned()))
            .collect();
        assert_eq!(
            recorded, listed,
            "each migration recorded once, by its own text"
        );

        store.migrate().await.unwrap();
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM totp_enroll_schema_version")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count, LATEST, "migrate found nothing to apply");
        let rig = Rig::new(store);
        rig.enroll("runner").await;
    }
}

#[cfg(feature = "postgres")]
pub(crate) mod postgres {
    use super::*;
    use crate::{LATEST_SCHEMA as LATEST, PG_SERVER, pg_url};
    use core::str::FromStr;
    use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
    use totp_enroll::store::PostgresStore;

    /// A fresh, empty database on the test server for one test; [`Database::drop`] at the
    /// end removes it.
    struct Database {
        options: PgConnectOptions,
        admin: PgPool,
        name: String,
        _server: Option<tokio::sync::RwLockReadGuard<'static, ()>>,
    }

    impl Database {
        /// A new database, holding the server (see `PG_SERVER`) while it lives.
        async fn new(tag: &str) -> Option<Self> {
            let url = pg_url()?;
            let server = PG_SERVER.read().await;
            let admin = PgPool::connect(&url).await.unwrap();
            let mut database = Self::create(&url, admin, tag).await;
            database._server = Some(server);
            Some(database)
        }

        /// Another new database on the same server, while `self` holds it (a second read
        /// lock could wait forever behind a queued restart).
        async fn another(&self, tag: &str) -> Self {
            let url = pg_url().unwrap();
            Self::create(&url, self.admin.clone(), tag).await
        }

        async fn create(url: &str, admin: PgPool, tag: &str) -> Self {
            let name = format!("totp_enroll_app_{tag}_{}", std::process::id());
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&admin)
                .await
                .unwrap();
            sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            Self {
                options: PgConnectOptions::from_str(url).unwrap().database(&name),
                admin,
                name,
                _server: None,
            }
        }

        /// The application's own pool on this database (plain sqlx options).
        async fn app_pool(&self) -> PgPool {
            PgPoolOptions::new()
                .max_connections(4)
                .connect_with(self.options.clone())
                .await
                .unwrap()
        }

        async fn drop(self) {
            // WITH (FORCE): a closed pool's connections may not have left the server yet.
            sqlx::raw_sql(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
                .execute(&self.admin)
                .await
                .unwrap();
        }
    }

    /// `migrations` applied as an application's migration runner applies its files: in
    /// order, each in a transaction of its own, the text as given.
    pub(crate) async fn run_as_runner(pool: &PgPool, migrations: &[Migration]) {
        for migration in migrations {
            let mut tx = pool.begin().await.unwrap();
            sqlx::raw_sql(migration.sql())
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("migration {}: {e}", migration.version()));
            tx.commit().await.unwrap();
        }
    }

    /// The database's tables (columns, types, nullability, defaults, identity) and indexes.
    async fn schema(pool: &PgPool) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable \
                 || ' ' || coalesce(column_default, '') || ' ' || is_identity \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             UNION ALL \
             SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() \
             ORDER BY 1",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    }

    /// For the conformance suite: a store on an application's own pool (plain sqlx
    /// options, not the store's) to the shared test database, migrated on request.
    pub(crate) async fn from_pool_fixture() -> Option<Fixture<PostgresStore>> {
        let url = pg_url()?;
        let server = PG_SERVER.read().await;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connecting to TOTP_ENROLL_PG_URL failed: {e}"));
        PostgresStore::migrate_pool(&pool).await.unwrap();
        let store = PostgresStore::from_pool(pool).await.unwrap();
        Some(Fixture {
            store: Arc::new(store),
            _dir: None,
            _server: Some(server),
        })
    }

    #[test]
    fn the_exposed_migrations_are_numbered_and_record_their_version() {
        assert_runner_ready(PostgresStore::migrations(), LATEST);
    }

    /// One pool for the application and the store: the application's query on its pool
    /// joins its own table with the store's rows; closing the application's pool leaves
    /// the store without a connection.
    #[tokio::test(flavor = "multi_thread")]
    async fn from_pool_shares_the_applications_pool() {
        let Some(database) = Database::new("shared").await else {
            return;
        };
        let pool = database.app_pool().await;
        sqlx::query("CREATE TABLE app_customers (login_id TEXT PRIMARY KEY, name TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        run_as_runner(&pool, PostgresStore::migrations()).await;
        let store = Arc::new(PostgresStore::from_pool(pool.clone()).await.unwrap());
        let rig = Rig::new(Arc::clone(&store));
        let (account, _) = rig.enroll("shared-pool").await;

        sqlx::query("INSERT INTO app_customers (login_id, name) VALUES ($1, 'Taro')")
            .bind(account.as_str())
            .execute(&pool)
            .await
            .unwrap();
        let (name, version): (String, i64) = sqlx::query_as(
            "SELECT c.name, e.version FROM app_customers c \
             JOIN totp_enroll_enrollments e ON e.account = c.login_id",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(name, "Taro");
        assert!(version >= 1, "the store's row, seen by the application");
        let events: i64 =
            sqlx::query_scalar("SELECT count(*) FROM totp_enroll_outbox WHERE account = $1")
                .bind(account.as_str())
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(events > 0, "the store's outbox, seen by the application");

        pool.close().await;
        assert!(
            matches!(store.load(&account).await, Err(StoreError::Backend(_))),
            "the store has no pool of its own"
        );
        database.drop().await;
    }

    /// On a database never migrated, `from_pool` refuses with the typed schema error and
    /// creates nothing: not even the version table.
    #[tokio::test(flavor = "multi_thread")]
    async fn from_pool_refuses_an_unmigrated_database_and_creates_nothing() {
        let Some(database) = Database::new("unmigrated").await else {
            return;
        };
        let pool = database.app_pool().await;
        match PostgresStore::from_pool(pool.clone()).await {
            Err(StoreError::Schema { found, expected }) => {
                assert_eq!((found, expected), (0, LATEST));
            }
            other => panic!("an unmigrated database must be refused, got {other:?}"),
        }
        assert!(schema(&pool).await.is_empty(), "nothing was created");
        pool.close().await;
        database.drop().await;
    }

    /// A schema older or newer than this build's is refused by `from_pool`, which changes
    /// nothing; `migrate_pool` refuses the newer one too, with the same typed error.
    #[tokio::test(flavor = "multi_thread")]
    async fn from_pool_refuses_an_older_or_newer_schema_and_changes_nothing() {
        let Some(database) = Database::new("older_newer").await else {
            return;
        };
        let pool = database.app_pool().await;
        let (first, rest) = PostgresStore::migrations().split_at(1);
        run_as_runner(&pool, first).await;
        let before = schema(&pool).await;
        match PostgresStore::from_pool(pool.clone()).await {
            Err(StoreError::Schema { found, expected }) => {
                assert_eq!((found, expected), (1, LATEST));
            }
            other => panic!("an older schema must be refused, got {other:?}"),
        }
        assert_eq!(schema(&pool).await, before, "nothing was changed");

        run_as_runner(&pool, rest).await;
        PostgresStore::from_pool(pool.clone()).await.unwrap();
        sqlx::query(
            "INSERT INTO totp_enroll_schema_version (version, description) \
             VALUES ($1, 'from a newer build')",
        )
        .bind(LATEST + 1)
        .execute(&pool)
        .await
        .unwrap();
        for refused in [
            PostgresStore::from_pool(pool.clone()).await.map(|_| ()),
            PostgresStore::migrate_pool(&pool).await,
        ] {
            match refused {
                Err(StoreError::Schema { found, expected }) => {
                    assert_eq!((found, expected), (LATEST + 1, LATEST));
                }
                other => panic!("a newer schema must be refused, got {other:?}"),
            }
        }
        pool.close().await;
        database.drop().await;
    }

    /// The exposed SQL, applied in order by the application's runner, gives the schema
    /// the store's own migration gives, records every version, and opens with `from_pool`;
    /// the store's `migrate` then has nothing left to do.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_exposed_sql_applied_by_the_applications_runner_opens_with_from_pool() {
        let Some(database) = Database::new("runner").await else {
            return;
        };
        let embedded_database = database.another("embedded").await;
        let pool = database.app_pool().await;
        run_as_runner(&pool, PostgresStore::migrations()).await;
        let store = PostgresStore::from_pool(pool.clone()).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), LATEST);

        let embedded = PostgresStore::connect_with(
            embedded_database.options.clone(),
            PostgresStore::pool_options(),
        )
        .await
        .unwrap();
        assert_eq!(
            schema(&pool).await,
            schema(embedded.pool()).await,
            "the same schema as the store's own migration"
        );
        embedded.close().await;
        let recorded: Vec<(i64, String)> = sqlx::query_as(
            "SELECT version, description FROM totp_enroll_schema_version ORDER BY version",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let listed: Vec<(i64, String)> = PostgresStore::migrations()
            .iter()
            .map(|m| (m.version(), m.description().to_owned()))
            .collect();
        assert_eq!(
            recorded, listed,
            "each migration recorded once, by its own text"
        );

        store.migrate().await.unwrap();
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM totp_enroll_schema_version")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count, LATEST, "migrate found nothing to apply");
        let rig = Rig::new(store);
        rig.enroll("runner").await;
        pool.close().await;
        embedded_database.drop().await;
        database.drop().await;
    }

    /// The integrator's complaint: the pool's role may lack every right to create or
    /// alter tables. Migrated by another role beforehand, `from_pool` opens the store on
    /// such a role's pool and the engine works.
    #[tokio::test(flavor = "multi_thread")]
    async fn from_pool_needs_no_right_to_create_tables() {
        let Some(database) = Database::new("no_ddl").await else {
            return;
        };
        let owner = database.app_pool().await;
        run_as_runner(&owner, PostgresStore::migrations()).await;
        let role = format!("totp_enroll_app_role_{}", std::process::id());
        for statement in [
            format!("DROP ROLE IF EXISTS {role}"),
            format!("CREATE ROLE {role} LOGIN"),
        ] {
            sqlx::raw_sql(&statement)
                .execute(&database.admin)
                .await
                .unwrap();
        }
        sqlx::raw_sql(&format!(
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC; \
             REVOKE CREATE, TEMPORARY ON DATABASE {db} FROM PUBLIC; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}; \
             GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};",
            db = database.name
        ))
        .execute(&owner)
        .await
        .unwrap();
        owner.close().await;

        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(database.options.clone().username(&role))
            .await
            .unwrap();
        assert!(
            sqlx::query("CREATE TABLE probe (a INT)")
                .execute(&pool)
                .await
                .is_err(),
            "the role cannot create tables"
        );
        let store = PostgresStore::from_pool(pool.clone()).await.unwrap();
        let rig = Rig::new(store);
        let (account, _) = rig.enroll("no-ddl").await;
        assert!(rig.engine.store().load(&account).await.unwrap().is_some());
        pool.close().await;
        let admin = database.admin.clone();
        database.drop().await;
        sqlx::raw_sql(&format!("DROP ROLE {role}"))
            .execute(&admin)
            .await
            .unwrap();
    }
}
