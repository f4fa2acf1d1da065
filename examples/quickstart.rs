//! The whole story of a securities portal's one-time password
//! service, from 未登録 to 利用中 and back, with a simulated Google Authenticator: the
//! manual's four chapters, then recovery codes, the support desk's tools, and a second
//! device with its own secret.
//!
//! Run: `cargo run --example quickstart`
//!
//! Everything is embedded (MemoryStore, a generated sealing key, a manual clock so that
//! 30-second steps pass instantly); a real portal swaps in its database store, its key
//! ring from a secret manager and `SystemClock`. The durable audit trail is delivered as
//! in production: the engine writes every call's events into the store's outbox, and one
//! `Outbox::run` loop beside it delivers them (its last pass at shutdown).

use std::error::Error;
use std::sync::Arc;

use totp_enroll::{
    AccountId, AuditDelivery, AuditEvent, AuditKind, AuditSink, Engine, EnginePolicy, KeyRing,
    Login, ManualClock, MemoryStore, Operator, OtpPolicy, Outbox, Provisioning, SecondDevice,
    StepUp, engine::DeliveredEvent, error::EngineError, otp::Totp, provision::KeyUri,
};

/// The portal's audit sink: logs every event and e-mails the customer when an
/// authentication factor changes (OWASP ASVS 2.5.5). The seed portal has such a service.
struct PortalAudit;

impl AuditSink for PortalAudit {
    fn record(&self, event: AuditEvent) {
        println!(
            "    [audit] {} t={} {:?}",
            event.account, event.at, event.kind
        );
        if event.kind.is_factor_change() {
            println!(
                "    [mail ] to {}: your one-time password settings changed ({}); \
                 if this was not you, call the support desk",
                event.account,
                factor_change(&event.kind)
            );
        }
    }
}

/// Where the durable trail goes (a log service, a SIEM): the events the engine wrote into
/// the store's outbox, in order, at least once, each with its stable id.
struct Siem;

impl AuditDelivery for Siem {
    type Error = core::convert::Infallible;

    async fn deliver(&self, events: &[DeliveredEvent]) -> Result<(), Self::Error> {
        if let (Some(first), Some(last)) = (events.first(), events.last()) {
            println!(
                "    [siem ] {} events taken from the outbox (ids {}–{})",
                events.len(),
                first.id,
                last.id
            );
        }
        Ok(())
    }
}

fn factor_change(kind: &AuditKind) -> &'static str {
    match kind {
        AuditKind::EnrollmentConfirmed { .. } => "service started",
        AuditKind::Redisplayed => "setup key shown for another device",
        AuditKind::Stopped => "service stopped",
        AuditKind::AdministrativelyReset { .. } => "reset by the support desk",
        AuditKind::Locked { .. } => "locked after failed attempts",
        AuditKind::RecoveryCodesIssued { .. } => "recovery codes issued",
        AuditKind::RecoveryCodeUsed { .. } => "a recovery code was used",
        AuditKind::RecoveryCodesLow { .. } => "few recovery codes left",
        AuditKind::Resynced { .. } => "app clock resynchronised",
        AuditKind::Unlocked { .. } => "unlocked by the support desk",
        AuditKind::AuthenticatorAdded { .. } => "an authenticator is being added",
        AuditKind::AuthenticatorConfirmed { .. } => "an authenticator was added",
        AuditKind::AuthenticatorRemoved { .. } => "an authenticator was removed",
        _ => "other",
    }
}

/// A phone with Google Authenticator: it only knows what the QR code (or typed key) told it.
struct AuthenticatorApp {
    name: &'static str,
    totp: Totp,
}

impl AuthenticatorApp {
    fn scan(name: &'static str, screen: &Provisioning) -> Result<Self, Box<dyn Error>> {
        let key = KeyUri::parse(&screen.uri())?;
        Ok(Self {
            name,
            totp: Totp::new(key.secret(), key.policy()),
        })
    }

    fn shows(&self, clock: &ManualClock) -> Result<String, Box<dyn Error>> {
        let now = totp_enroll::Clock::now(clock)?;
        let code = self.totp.code_at(now).to_grouped();
        println!("    {} shows {code}", self.name);
        Ok(code)
    }
}

struct Portal {
    engine: Engine<Arc<MemoryStore>>,
    clock: Arc<ManualClock>,
    customer: AccountId,
}

impl Portal {
    async fn registration_info(&self) -> Result<(), EngineError> {
        let status = self.engine.status(&self.customer).await?;
        println!(
            "  Registration info › One-time password service: {}",
            status.portal_label()
        );
        Ok(())
    }

    fn wait_for_next_code(&self) {
        self.clock.advance(30);
        println!("    … 30 seconds later");
    }

    fn show_registration_screen(&self, screen: &Provisioning) -> Result<(), Box<dyn Error>> {
        println!("{}", screen.qr()?.to_terminal().as_str());
        println!("  Account name : {}", screen.issuer());
        println!("  Key type     : {}", screen.key_type());
        println!("  Setup key    : ●●●● ●●●● (hidden — press \"show code\")");
        println!("  [show code]  : {}", screen.reveal_setup_key().as_str());
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let clock = Arc::new(ManualClock::new(1_764_000_000));
    let store = Arc::new(MemoryStore::new());

    // The audit delivery, beside the engine for as long as the portal runs: every 500 ms,
    // a back-off after failures, one last pass after the shutdown signal.
    let (stop_delivery, shutdown) = tokio::sync::oneshot::channel::<()>();
    let outbox = Outbox::new(Arc::clone(&store));
    let delivery = tokio::spawn(async move {
        outbox
            .run(
                &Siem,
                |pause| tokio::time::sleep(pause.duration()),
                async {
                    let _ = shutdown.await;
                },
                |error| eprintln!("audit delivery failed, retrying: {error}"),
            )
            .await
    });

    let policy = EnginePolicy::new(OtpPolicy::new("北洋証券オンラインサービス")?);
    let engine = Engine::new(Arc::clone(&store), KeyRing::generate(1)?, policy)?
        .with_clock(clock.clone())
        .with_audit(Arc::new(PortalAudit));
    let portal = Portal {
        engine,
        clock: clock.clone(),
        customer: AccountId::new("0123-456789")?,
    };
    let now = || totp_enroll::Clock::now(clock.as_ref());

    println!("== 1. New enrollment (申込) ==");
    portal.registration_info().await?;
    let no_step_up =
        StepUp::transaction_password_verified(&portal.customer, now()?.saturating_sub(3600));
    match portal
        .engine
        .begin(
            &portal.customer,
            &totp_enroll::AccountLabel::new("0123-456789")?,
            &no_step_up,
        )
        .await
    {
        Err(refused) => println!("  Apply without a fresh transaction password: {refused}"),
        Ok(_) => return Err("enrollment began without a step-up".into()),
    }
    println!("  The customer re-enters the transaction password (取引パスワード).");
    let step_up = StepUp::transaction_password_verified(&portal.customer, now()?);
    let screen = portal
        .engine
        .begin(
            &portal.customer,
            &totp_enroll::AccountLabel::new("0123-456789")?,
            &step_up,
        )
        .await?;
    portal.show_registration_screen(&screen)?;
    let phone = AuthenticatorApp::scan("iPhone", &screen)?;
    println!("  Next › confirm with the code the app shows:");
    let code = phone.shows(&clock)?;
    portal.engine.confirm(&portal.customer, &code).await?;
    println!("  受付 (accepted)");
    portal.registration_info().await?;

    println!("\n== Login: ID + password, then the one-time password ==");
    portal.wait_for_next_code();
    let code = phone.shows(&clock)?;
    match portal.engine.verify_login(&portal.customer, &code).await? {
        Login::Verified(v) => println!("  Login OK (step {}, drift {})", v.step(), v.drift()),
        other => return Err(format!("unexpected {other:?}").into()),
    }
    match portal.engine.verify_login(&portal.customer, &code).await {
        Err(refused) => println!("  The same code again (a replay): {refused}"),
        Ok(_) => return Err("a replayed code was accepted".into()),
    }

    println!("\n== 2. A second device (コード再表示) ==");
    portal.wait_for_next_code();
    let code = phone.shows(&clock)?;
    let again = portal.engine.redisplay(&portal.customer, &code).await?;
    println!("  Same setup key: {}", again.reveal_setup_key().as_str());
    let tablet = AuthenticatorApp::scan("iPad", &again)?;
    portal.wait_for_next_code();
    if phone.shows(&clock)? != tablet.shows(&clock)? {
        return Err("the two devices disagree".into());
    }

    println!("\n== 3. Stopping the service (利用停止) ==");
    let code = tablet.shows(&clock)?;
    portal.engine.stop(&portal.customer, &code).await?;
    portal.registration_info().await?;
    portal.wait_for_next_code();
    let login = portal.engine.verify_login(&portal.customer, "").await?;
    println!("  Login now: {login:?} (ID + password alone)");

    println!("\n== 4. Lost phone: the support desk (お客さまサポート窓口) ==");
    let step_up = StepUp::transaction_password_verified(&portal.customer, now()?);
    let screen = portal
        .engine
        .begin(
            &portal.customer,
            &totp_enroll::AccountLabel::new("0123-456789")?,
            &step_up,
        )
        .await?;
    let new_phone = AuthenticatorApp::scan("Android", &screen)?;
    // Confirmation with recovery codes: shown once, stored only as keyed hashes.
    let recovery = portal
        .engine
        .confirm_with_recovery_codes(&portal.customer, &new_phone.shows(&clock)?)
        .await?;
    portal.registration_info().await?;
    println!("  Recovery codes (shown once; keep them safe, each works once):");
    let codes: Vec<String> = recovery.iter().map(|c| c.grouped().to_string()).collect();
    for code in &codes {
        println!("    {code}");
    }

    println!("\n  The phone is at home: log in with a recovery code instead.");
    portal.wait_for_next_code();
    let typed = codes.first().ok_or("no recovery code")?.to_lowercase();
    match portal
        .engine
        .verify_recovery_code(&portal.customer, &typed)
        .await?
    {
        Login::RecoveryCode { remaining } => {
            println!("  Login OK with a recovery code ({remaining} left)");
        }
        other => return Err(format!("unexpected {other:?}").into()),
    }
    match portal
        .engine
        .verify_recovery_code(&portal.customer, &typed)
        .await
    {
        Err(refused) => println!("  The same recovery code again: {refused}"),
        Ok(_) => return Err("a used recovery code was accepted".into()),
    }

    println!("\n  The phone's clock is 4 minutes fast; the customer calls the support desk.");
    let operator = Operator::new("support-desk-07")?;
    let fast = |at: u64| new_phone.totp.code_at(at.saturating_add(240)).to_string();
    let diagnosis = portal
        .engine
        .desk_diagnose(&portal.customer, &fast(now()?), &operator)
        .await?;
    println!("  Desk › diagnose the code read out: {diagnosis:?}");
    portal.wait_for_next_code();
    let first = fast(now()?);
    portal.wait_for_next_code();
    let resynced = portal
        .engine
        .desk_resync(
            &portal.customer,
            &first,
            &fast(now()?),
            &operator,
            "app clock 4 minutes fast",
        )
        .await?;
    println!(
        "  Desk › resync from two consecutive codes: drift {} steps",
        resynced.drift
    );
    portal.wait_for_next_code();
    match portal
        .engine
        .verify_login(&portal.customer, &fast(now()?))
        .await?
    {
        Login::Verified(_) => println!("  Login OK with the fast phone"),
        other => return Err(format!("unexpected {other:?}").into()),
    }
    let overview = portal.engine.overview(&portal.customer).await?;
    println!(
        "  Desk › overview: {} authenticator(s), drift {} s, {} recovery codes left, {} failures",
        overview.authenticators.len(),
        overview
            .authenticators
            .first()
            .map_or(0, |a| a.drift_seconds),
        overview.recovery_codes_remaining,
        overview.failures
    );

    println!("\n  Then the phone is lost: the customer calls support.");
    portal
        .engine
        .desk_reset(
            &portal.customer,
            &operator,
            "lost device, identity checked by phone",
        )
        .await?;
    portal.registration_info().await?;

    println!(
        "\n== 5. A portal whose second devices get their own secret (SecondDevice::OwnSecret) =="
    );
    let policy = EnginePolicy::new(OtpPolicy::new("北洋証券オンラインサービス")?)
        .with_second_device(SecondDevice::OwnSecret);
    // Another engine on the same store, as the portal's desk engine: one outbox, one loop.
    let engine = Engine::new(Arc::clone(&store), KeyRing::generate(1)?, policy)?
        .with_clock(clock.clone())
        .with_audit(Arc::new(PortalAudit));
    let own = Portal {
        engine,
        clock: clock.clone(),
        customer: AccountId::new("0123-456790")?,
    };
    let step_up = StepUp::transaction_password_verified(&own.customer, now()?);
    let screen = own
        .engine
        .begin(
            &own.customer,
            &totp_enroll::AccountLabel::new("0123-456790")?,
            &step_up,
        )
        .await?;
    let phone = AuthenticatorApp::scan("iPhone", &screen)?;
    own.engine
        .confirm(&own.customer, &phone.shows(&clock)?)
        .await?;
    own.registration_info().await?;
    own.wait_for_next_code();
    // Each device its own secret: adding (and removing) one also asks for the transaction
    // password again (SecondDevice::OwnSecret's default), so one code alone never does it.
    let step_up = StepUp::transaction_password_verified(&own.customer, now()?);
    let added = own
        .engine
        .add_authenticator(&own.customer, "iPad", &phone.shows(&clock)?, Some(&step_up))
        .await?;
    println!(
        "  An own QR code for the iPad (authenticator {}):",
        added.id
    );
    let tablet = AuthenticatorApp::scan("iPad", &added.provisioning)?;
    match own
        .engine
        .verify_login(&own.customer, &tablet.shows(&clock)?)
        .await
    {
        Err(refused) => println!("  The iPad before its confirmation: {refused}"),
        Ok(_) => return Err("an unconfirmed device logged in".into()),
    }
    own.wait_for_next_code();
    own.engine
        .confirm_authenticator(&own.customer, added.id, &tablet.shows(&clock)?)
        .await?;
    own.wait_for_next_code();
    for app in [&phone, &tablet] {
        match own
            .engine
            .verify_login(&own.customer, &app.shows(&clock)?)
            .await?
        {
            Login::Verified(v) => println!("  Login OK with authenticator {}", v.authenticator()),
            other => return Err(format!("unexpected {other:?}").into()),
        }
    }
    println!("  The iPhone is lost: the iPad removes it.");
    own.wait_for_next_code();
    let step_up = StepUp::transaction_password_verified(&own.customer, now()?);
    own.engine
        .remove_authenticator(&own.customer, 1, &tablet.shows(&clock)?, Some(&step_up))
        .await?;
    let overview = own.engine.overview(&own.customer).await?;
    let names: Vec<&str> = overview
        .authenticators
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    println!("  Desk › overview: authenticators {names:?}");
    own.registration_info().await?;

    println!("\n== Shutdown: the audit delivery's last pass ==");
    let _ = stop_delivery.send(());
    let summary = delivery.await?;
    println!(
        "  {} audit events delivered in {} passes; {} left in the outbox",
        summary.delivered,
        summary.passes,
        totp_enroll::Store::pending_events(store.as_ref(), 1_000)
            .await?
            .len()
    );
    Ok(())
}
