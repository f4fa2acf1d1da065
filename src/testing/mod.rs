//! Test support for store authors and for this crate's own tests (feature `testing`):
//! the store conformance suite and a store that injects faults. Nothing here is used by
//! the library itself.
//!
//! * [`conformance`]: the checks every [`Store`](crate::Store) must pass, split by concern.
//! * `faults.rs`: [`FaultyStore`], a wrapper that fails chosen operations, to check that
//!   the engine fails closed.

pub mod conformance;
mod faults;

pub use faults::{Fault, FaultyStore, InjectedFault};
