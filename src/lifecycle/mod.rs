//! One account's enrollment as a pure value and every rule that changes it: the lifecycle
//! (未登録 → pending → 利用中 → 未登録), authenticators as a set, recovery codes, the
//! failure counter, and the record's stored byte form with its MAC. Nothing here does I/O
//! or reads a clock; the [`Engine`](crate::Engine) loads, decides with these, and writes.
//!
//! * `enrollment.rs`: [`Enrollment`] and [`RecordStatus`], the value and its accessors.
//! * `status.rs`: [`Status`](crate::Status) and [`Access`](crate::Access), what the registration-info screen shows.
//! * `transitions.rs`: begin, a code attempt, confirm, use, resync, recovery codes.
//! * `authenticator.rs`, `authenticator_set.rs`: one [`Authenticator`], and the set of an
//!   active enrollment (add, remove, ids).
//! * `recovery_code.rs`: [`RecoveryCode`] and [`RecoveryCodes`](crate::RecoveryCodes), their grammar and generation.
//! * `throttle.rs`: [`ThrottlePolicy`] and [`ThrottleState`], backoff and lock.
//! * `codec.rs`: the versioned byte form and the record MAC.

pub(crate) mod authenticator;
mod authenticator_set;
pub(crate) mod codec;
pub(crate) mod enrollment;
pub(crate) mod recovery_code;
pub(crate) mod status;
pub(crate) mod throttle;
pub(crate) mod transitions;

pub use authenticator::Authenticator;
pub use enrollment::{Enrollment, RecordStatus};
pub use recovery_code::RecoveryCode;
pub use throttle::{ThrottlePolicy, ThrottleState};
