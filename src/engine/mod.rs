//! [`Engine`]: the async façade a portal calls, one method per screen.
//!
//! Each call reads the record, decides with the pure rules of [`Enrollment`](crate::lifecycle::Enrollment) over plain
//! data, writes the result together with its audit events (the store's outbox) with one
//! atomic [`Store::replace_if`](crate::Store::replace_if), and only then reports the verdict. A conflicting write
//! makes it read and decide again (the one retry rule, `check.rs`); a storage failure is
//! an error, never an acceptance (fail closed).
//!
//! * `check.rs`: the code check every code-taking screen goes through — read, a pure
//!   decision, one conditional write — and the retry rule.
//! * `screens.rs`: 登録情報照会, 申込, 確認, login, コード再表示, 利用停止.
//! * `devices.rs`, `recovery.rs`: second devices with their own secret; recovery codes.
//! * `desk.rs`, `reset.rs`: the support desk's overview, diagnosis, unlock and resync; the
//!   reset and the erasure.
//! * `step_up.rs`: the step-up proofs the screens ask for.
//! * `maintenance.rs`: key rotation while serving, key usage, re-seal, retirement, sweep.
//! * `outbox.rs`: delivery of the durable audit trail.
//! * `key_cache.rs`, `trace.rs`, `outcomes.rs`: prepared keys and held records; tracing.
//! * `policy.rs`: [`EnginePolicy`](crate::EnginePolicy), the lifecycle rules.

pub(crate) mod base;
mod check;
mod desk;
mod devices;
mod key_cache;
mod maintenance;
pub(crate) mod outbox;
mod outcomes;
pub(crate) mod policy;
mod recovery;
mod reset;
pub(crate) mod screens;
mod step_up;
mod trace;

pub use desk::{AccountOverview, AuthenticatorOverview, Diagnosis, Resynced};
pub use devices::NewAuthenticator;
pub use maintenance::{KeyUsage, ResealReport, SweepReport};
pub use outbox::{DeliveredEvent, DeliveryPause, DeliverySummary};

use crate::store::Versioned;
pub(crate) use base::Engine;
pub(crate) use policy::SecondDevice;
pub(crate) use screens::Login;

/// How many times one call reloads after conflicting writes before giving up with
/// [`EngineError::Contention`](crate::error::EngineError::Contention). Each conflict means
/// another writer made progress.
const MAX_RETRIES: usize = 512;
