//! The portal's own tables (customers, operators, audit log, mail outbox) in the same
//! database as the library's enrollment table, with migrations of their own, and the demo
//! data created on first start. The operators' rows and their login failures are in
//! `operators.rs`.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{PgPool, Row as _, SqlitePool};

use crate::error::AppError;
use crate::password::Passwords;

/// The portal's database: the pool of the library's store, reused for the portal's tables.
#[derive(Debug, Clone)]
pub enum Db {
    /// SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool (the SQL is the same for both: `$n`
/// placeholders work in SQLite too).
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

pub mod operators;

pub use operators::{OperatorFailures, OperatorRow};

/// The portal's migrations, in order: (version, description, SQL).
fn migrator<const N: usize>(migrations: [(i64, &'static str, &'static str); N]) -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            migrations
                .into_iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect(),
        ),
        ..Migrator::DEFAULT
    }
}

/// A customer of the portal.
#[derive(Clone)]
pub struct Customer {
    /// ログインID (also the engine's account id).
    pub login_id: String,
    /// Name, e.g. 北洋 太郎.
    pub name: String,
    /// Where notifications go.
    pub email: String,
    /// argon2id hash of the login password.
    pub login_password_hash: String,
    /// argon2id hash of the transaction password (取引パスワード).
    pub trade_password_hash: String,
}

impl core::fmt::Debug for Customer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Customer")
            .field("login_id", &self.login_id)
            .finish_non_exhaustive()
    }
}

/// One audit log row.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// The library's outbox id of the event (`None` for rows from before migration 2).
    pub event_id: Option<i64>,
    /// Unix seconds.
    pub at: i64,
    /// A short English code (`confirmed`, `refused`, …).
    pub kind: String,
    /// What happened, in Japanese, without secrets or codes.
    pub detail: String,
    /// The `X-Request-Id` of the request that caused it (none for background work).
    pub request_id: Option<String>,
    /// The client's address in that request.
    pub client: Option<String>,
    /// Its user agent.
    pub user_agent: Option<String>,
}

/// An audit row to write, for the outbox event `event_id`.
#[derive(Debug, Clone, Copy)]
pub struct NewAudit<'a> {
    /// The library's outbox id: a second row for the same id is not written.
    pub event_id: i64,
    /// The account.
    pub account: &'a str,
    /// Unix seconds.
    pub at: i64,
    /// A short English code.
    pub kind: &'a str,
    /// What happened, in Japanese.
    pub detail: &'a str,
    /// The request's id, client address and user agent, when a request caused it.
    pub request_id: Option<&'a str>,
    /// See `request_id`.
    pub client: Option<&'a str>,
    /// See `request_id`.
    pub user_agent: Option<&'a str>,
}

/// A mail to queue, the notice of the outbox event `event_id`.
#[derive(Debug, Clone, Copy)]
pub struct NewMail<'a> {
    /// The library's outbox id: a second mail for the same id is not queued.
    pub event_id: i64,
    /// The customer's login ID.
    pub account: &'a str,
    /// Recipient.
    pub to_address: &'a str,
    /// Unix seconds.
    pub at: i64,
    /// Subject.
    pub subject: &'a str,
    /// Body.
    pub body: &'a str,
}

/// One mail in the outbox.
#[derive(Debug, Clone)]
pub struct MailRow {
    /// Unix seconds.
    pub at: i64,
    /// Recipient.
    pub to_address: String,
    /// The customer's login ID.
    pub account: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
}

/// A demo customer created on first start (see the README).
pub struct DemoCustomer {
    /// ログインID.
    pub login_id: &'static str,
    /// ログインパスワード.
    pub login_password: &'static str,
    /// 取引パスワード.
    pub trade_password: &'static str,
    /// 氏名.
    pub name: &'static str,
    /// E-mail.
    pub email: &'static str,
}

/// The demo customers: the manual's 北洋 太郎, and 北洋 花子 for the browser test.
pub const DEMO_CUSTOMERS: [DemoCustomer; 2] = [
    DemoCustomer {
        login_id: "0123-456789",
        login_password: "demo-login-pw",
        trade_password: "demo-trade-pw",
        name: "北洋 太郎",
        email: "taro@example.jp",
    },
    DemoCustomer {
        login_id: "0123-000002",
        login_password: "demo-login-pw2",
        trade_password: "demo-trade-pw2",
        name: "北洋 花子",
        email: "hanako@example.jp",
    },
];

/// The demo support-desk operators: ID and password (each enrolls the desk's one-time
/// password at its first login; either unlocks or resets the other).
pub const DEMO_OPERATORS: [(&str, &str); 2] =
    [("desk-01", "demo-desk-pw"), ("desk-02", "demo-desk-pw2")];

impl Db {
    /// Applies the portal's migrations (idempotent; recorded in sqlx's `_sqlx_migrations`).
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Self::Sqlite(pool) => {
                migrator([
                    (
                        1,
                        "portal tables",
                        include_str!("../../migrations/sqlite/0001_portal_tables.sql"),
                    ),
                    (
                        2,
                        "audit delivery",
                        include_str!("../../migrations/sqlite/0002_audit_delivery.sql"),
                    ),
                    (
                        3,
                        "operator lock",
                        include_str!("../../migrations/sqlite/0003_operator_lock.sql"),
                    ),
                ])
                .run(pool)
                .await
            }
            Self::Postgres(pool) => {
                migrator([
                    (
                        1,
                        "portal tables",
                        include_str!("../../migrations/postgres/0001_portal_tables.sql"),
                    ),
                    (
                        2,
                        "audit delivery",
                        include_str!("../../migrations/postgres/0002_audit_delivery.sql"),
                    ),
                    (
                        3,
                        "operator lock",
                        include_str!("../../migrations/postgres/0003_operator_lock.sql"),
                    ),
                ])
                .run(pool)
                .await
            }
        }
    }

    /// Creates the demo customers and operator unless they exist (passwords as argon2id
    /// hashes). Returns whether anything was created.
    pub async fn seed_demo(&self, passwords: &Passwords) -> Result<bool, AppError> {
        let mut created = false;
        for demo in &DEMO_CUSTOMERS {
            if self.customer(demo.login_id).await?.is_some() {
                continue;
            }
            let customer = Customer {
                login_id: demo.login_id.to_owned(),
                name: demo.name.to_owned(),
                email: demo.email.to_owned(),
                login_password_hash: passwords.hash(demo.login_password).await?,
                trade_password_hash: passwords.hash(demo.trade_password).await?,
            };
            self.insert_customer(&customer).await?;
            created = true;
        }
        for (operator, password) in DEMO_OPERATORS {
            if self.operator(operator).await?.is_none() {
                self.insert_operator(operator, &passwords.hash(password).await?)
                    .await?;
                created = true;
            }
        }
        Ok(created)
    }

    /// Adds a customer (nothing if the login ID exists). A login ID in the operators'
    /// namespace (`desk:…`, [`crate::accounts`]) is refused: its engine account would be
    /// an operator's.
    pub async fn insert_customer(&self, c: &Customer) -> Result<(), sqlx::Error> {
        if crate::accounts::is_operator_namespace(&c.login_id) {
            return Err(sqlx::Error::Protocol(
                "a customer login ID in the operators' namespace".into(),
            ));
        }
        const SQL: &str = "INSERT INTO portal_customers \
            (login_id, name, email, login_password_hash, trade_password_hash) \
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT (login_id) DO NOTHING";
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(&c.login_id)
            .bind(&c.name)
            .bind(&c.email)
            .bind(&c.login_password_hash)
            .bind(&c.trade_password_hash)
            .execute(pool)
            .await
            .map(|_| ()))
    }

    /// The customer with this login ID; none in the operators' namespace (`desk:…`).
    pub async fn customer(&self, login_id: &str) -> Result<Option<Customer>, sqlx::Error> {
        if crate::accounts::is_operator_namespace(login_id) {
            return Ok(None);
        }
        const SQL: &str = "SELECT login_id, name, email, login_password_hash, \
            trade_password_hash FROM portal_customers WHERE login_id = $1";
        let row = on_pool!(self, pool => sqlx::query(SQL)
        .bind(login_id)
        .fetch_optional(pool)
        .await?
        .map(|row| -> Result<Customer, sqlx::Error> {
            Ok(Customer {
                login_id: row.try_get("login_id")?,
                name: row.try_get("name")?,
                email: row.try_get("email")?,
                login_password_hash: row.try_get("login_password_hash")?,
                trade_password_hash: row.try_get("trade_password_hash")?,
            })
        }));
        row.transpose()
    }

    /// Appends the audit row of an outbox event, unless that event already has one
    /// (a redelivery). Returns whether the row is new.
    pub async fn insert_audit(&self, row: &NewAudit<'_>) -> Result<bool, sqlx::Error> {
        const SQL: &str = "INSERT INTO portal_audit \
            (event_id, account, at, kind, detail, request_id, client, user_agent) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING";
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(row.event_id).bind(row.account).bind(row.at).bind(row.kind).bind(row.detail)
            .bind(row.request_id).bind(row.client).bind(row.user_agent)
            .execute(pool).await.map(|done| done.rows_affected() == 1))
    }

    /// Appends an audit row of the portal's own (no engine event: no event id), e.g. an
    /// operator locked or unlocked; with the current request's id, client and user agent.
    pub async fn insert_portal_audit(
        &self,
        account: &str,
        at: u64,
        kind: &str,
        detail: &str,
    ) -> Result<(), sqlx::Error> {
        const SQL: &str = "INSERT INTO portal_audit \
            (event_id, account, at, kind, detail, request_id, client, user_agent) \
            VALUES (NULL, $1, $2, $3, $4, $5, $6, $7)";
        let context = totp_enroll::RequestContext::current();
        let context = context.as_ref();
        let at = i64::try_from(at).unwrap_or(i64::MAX);
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(account).bind(at).bind(kind).bind(detail)
            .bind(context.and_then(totp_enroll::RequestContext::request_id))
            .bind(context.and_then(totp_enroll::RequestContext::client))
            .bind(context.and_then(totp_enroll::RequestContext::user_agent))
            .execute(pool).await.map(|_| ()))
    }

    /// The newest `limit` audit rows of an account, newest first.
    pub async fn recent_audit(
        &self,
        account: &str,
        limit: i64,
    ) -> Result<Vec<AuditRow>, sqlx::Error> {
        const SQL: &str = "SELECT event_id, at, kind, detail, request_id, client, user_agent \
            FROM portal_audit WHERE account = $1 ORDER BY id DESC LIMIT $2";
        let rows = on_pool!(self, pool => sqlx::query(SQL)
            .bind(account).bind(limit)
            .fetch_all(pool).await?
            .into_iter()
            .map(|row| -> Result<AuditRow, sqlx::Error> {
                Ok(AuditRow {
                    event_id: row.try_get("event_id")?,
                    at: row.try_get("at")?,
                    kind: row.try_get("kind")?,
                    detail: row.try_get("detail")?,
                    request_id: row.try_get("request_id")?,
                    client: row.try_get("client")?,
                    user_agent: row.try_get("user_agent")?,
                })
            })
            .collect::<Vec<_>>());
        rows.into_iter().collect()
    }

    /// Queues the mail of an outbox event, unless that event already has one (a
    /// redelivery). Returns whether the mail is new.
    pub async fn insert_mail(&self, mail: &NewMail<'_>) -> Result<bool, sqlx::Error> {
        const SQL: &str = "INSERT INTO portal_mail \
            (event_id, account, to_address, at, subject, body) \
            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING";
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(mail.event_id).bind(mail.account).bind(mail.to_address).bind(mail.at)
            .bind(mail.subject).bind(mail.body)
            .execute(pool).await.map(|done| done.rows_affected() == 1))
    }

    /// The newest `limit` mails, newest first.
    pub async fn mails(&self, limit: i64) -> Result<Vec<MailRow>, sqlx::Error> {
        const SQL: &str = "SELECT at, to_address, account, subject, body FROM portal_mail \
            ORDER BY id DESC LIMIT $1";
        let rows = on_pool!(self, pool => sqlx::query(SQL)
            .bind(limit)
            .fetch_all(pool).await?
            .into_iter()
            .map(|row| -> Result<MailRow, sqlx::Error> {
                Ok(MailRow {
                    at: row.try_get("at")?,
                    to_address: row.try_get("to_address")?,
                    account: row.try_get("account")?,
                    subject: row.try_get("subject")?,
                    body: row.try_get("body")?,
                })
            })
            .collect::<Vec<_>>());
        rows.into_iter().collect()
    }
}
