//! `cargo run -p totp-enroll-portal`: the seed manual's portal on http://127.0.0.1:8080.
//!
//! Configuration from the environment (see `config.rs`), an embedded SQLite file and a
//! generated key ring in `./portal-data` by default, demo data on first start, the
//! background work of `background.rs` (audit delivery, hourly sweep, key ring reload on
//! SIGHUP), graceful shutdown on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;

use totp_enroll_portal::app::{self, PortalOptions};
use totp_enroll_portal::background::Background;
use totp_enroll_portal::config::{self, Config, KeyOrigin};
use totp_enroll_portal::db::{DEMO_CUSTOMERS, DEMO_OPERATORS};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        // Colour only on a terminal: a log file or collector gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("totp-enroll-portal: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    config.ensure_data_dir()?;
    let (keys, origin) = config::load_key_ring(Some(config::KEYS_VAR), &config.data_dir)?;
    let mut options = PortalOptions::production(config.secure_cookies)?;
    options.second_device = config.second_device;
    options.sessions.lifetimes = config.session_lifetimes;
    options.demo_mailbox = config.demo_mailbox;
    let portal = app::build(&config.database, keys, options).await?;
    let listener = tokio::net::TcpListener::bind(config.addr).await?;

    println!("北洋証券オンラインサービス (totp-enroll portal)");
    println!("  URL:       http://{}/", config.addr);
    println!("  database:  {}", config.database.describe());
    println!(
        "  devices:   {}{}",
        if config.second_device.own_secret() {
            "own (each device its own app: 別の端末を追加)"
        } else {
            "same (コード再表示)"
        },
        if config.second_device.step_up {
            ", with the transaction password"
        } else {
            ""
        }
    );
    println!(
        "  sessions:  {} s idle, {} s at most",
        config.session_lifetimes.idle(),
        config.session_lifetimes.absolute()
    );
    let pid = std::process::id();
    let key_file = match origin {
        KeyOrigin::Environment => {
            println!("  keys:      from TOTP_PORTAL_KEYS");
            None
        }
        KeyOrigin::File(path) => {
            println!("  keys:      {} (reload: kill -HUP {pid})", path.display());
            Some(path)
        }
        KeyOrigin::Generated(path) => {
            println!(
                "  keys:      generated {} (mode 0600; reload: kill -HUP {pid})",
                path.display()
            );
            Some(path)
        }
    };
    println!("Demo customers (ログインID / ログインパスワード / 取引パスワード):");
    for c in &DEMO_CUSTOMERS {
        println!(
            "  {} / {} / {}  ({}, {})",
            c.login_id, c.login_password, c.trade_password, c.name, c.email
        );
    }
    println!(
        "Support desk: http://{}/desk (password, then the desk's one-time password: each operator enrolls an authenticator app at the first login)",
        config.addr
    );
    for (operator, password) in DEMO_OPERATORS {
        println!("  operator {operator} / {password}");
    }
    if config.demo_mailbox {
        println!(
            "Mail outbox:  http://{}/desk/mail (for a logged-in operator)",
            config.addr
        );
    } else {
        println!(
            "Mail outbox:  off (TOTP_PORTAL_DEMO_MAILBOX=1 shows it to logged-in operators at /desk/mail)"
        );
    }

    let background = Background::spawn(&portal.state, key_file);
    // With the peer address: the request context's client (`request_context.rs`).
    let app = portal
        .router
        .into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await;
    // The requests are done: deliver what they left in the outbox, then stop.
    background.stop().await;
    served?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
