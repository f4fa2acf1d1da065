//! The seed manual's securities portal on `totp-enroll`, as a library so that tests can
//! build the whole application in-process.
//!
//! `main.rs` reads the [`config::Config`] from the environment, calls [`app::build`] and
//! starts the [`background::Background`] work (audit delivery, sweep, key reload); tests
//! call [`app::build`] with a [`app::PortalOptions`] that injects a manual clock, and the
//! background steps directly.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accounts;
pub mod app;
pub mod background;
pub mod config;
pub mod csrf;
pub mod db;
pub mod error;
pub mod notify;
pub mod password;
pub mod refusal;
pub mod request_context;
pub mod routes;
pub mod session;
pub mod store;
pub mod views;

/// The service name: the issuer in key URIs and the "アカウント名" the manual tells the
/// customer to type into the authenticator app.
pub const ISSUER: &str = "北洋証券オンラインサービス";

/// The support desk's issuer: what its operators' authenticator apps show for the desk's
/// one-time password (the desk's own engine, [`app::AppState::desk_engine`]).
pub const DESK_ISSUER: &str = "北洋証券 お客さまサポート窓口";

/// The portal's language and time zone: Japanese, times in JST.
pub const LOCALE: totp_enroll::Locale = totp_enroll::Locale::JA_JST;
