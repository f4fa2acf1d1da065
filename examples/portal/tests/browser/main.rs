//! Real-browser end-to-end tests: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven over chromedriver with fantoccini.
//!
//! * A QR code rendered by the library and shown by Chromium decodes back, from the
//!   screenshot's pixels, to the exact URI.
//! * The seed manual's walk through the portal, screen by screen, as a customer with a
//!   phone would do it (see `the_manuals_walk_through_the_portal`).
//! * In `own` mode, a second app added with its own QR code, read from the screen
//!   (`in_own_mode_a_tablet_is_added_with_its_own_qr_code`).
//!
//! Without Chromium the tests print that they were SKIPPED and pass, except under `CI=true`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod harness;
mod manual_walk;
mod own_mode;
mod portal;
mod walk;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Instant;

use harness::Browser;
use portal::{Phone, Portal};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use totp_enroll::{
    Locale, OtpPolicy, error::Refusal, lifecycle::ThrottlePolicy, otp::Algorithm, otp::Secret,
    otp::Totp, provision::KeyUri, provision::QrCode,
};
use walk::*;

/// Serves `pages` (`path`, optional Content-Security-Policy, HTML) on a fresh 127.0.0.1
/// port until the runtime ends; any other path is a 404.
async fn serve_pages(pages: Vec<(&'static str, Option<&'static str>, String)>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind a page server");
    let addr = listener.local_addr().expect("page server address");
    let pages = std::sync::Arc::new(pages);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let pages = pages.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let page = pages
                    .iter()
                    .find(|(path, _, _)| request.starts_with(format!("GET {path} ").as_bytes()));
                let (status, csp, body) = match page {
                    Some((_, csp, html)) => ("200 OK", *csp, html.as_str()),
                    None => ("404 Not Found", None, ""),
                };
                let csp = csp
                    .map(|policy| format!("Content-Security-Policy: {policy}\r\n"))
                    .unwrap_or_default();
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n{csp}\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

/// A QR code of a key URI (Japanese issuer, generated secret), rendered by the library as
/// SVG, inline and as an `<img>` data URL, shown by Chromium at its intrinsic size and
/// enlarged by CSS: each screenshot decodes back to the exact URI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_qr_shown_by_chromium_decodes_to_the_exact_uri() {
    let Some(browser) = harness::Browser::start("library QR in Chromium").await else {
        return;
    };
    let policy = OtpPolicy::new("北洋証券オンラインサービス").expect("policy");
    let key_uri = KeyUri::new(
        Secret::generate().expect("secret"),
        "0123-456789 山田 太郎",
        &policy,
    )
    .expect("key URI");
    let uri = key_uri.to_uri().to_string();
    let qr = QrCode::new(&uri).expect("QR code");
    let svg = qr.to_svg();
    let inline_svg = svg
        .split_once("?>")
        .map_or(svg.as_str(), |(_, rest)| rest.trim_start());
    let html = format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>QR</title>\
         <style>body{{margin:24px;background:#f4f1ea}} .big img{{width:400px;height:400px}}</style>\
         </head><body>\
         <div id=\"inline\" style=\"display:inline-block\">{inline_svg}</div>\
         <div id=\"img\" style=\"display:inline-block\"><img alt=\"QR\" src=\"{}\"></div>\
         <div id=\"big\" class=\"big\" style=\"display:inline-block\"><img alt=\"QR\" src=\"{}\"></div>\
         </body></html>",
        qr.to_data_url().as_str(),
        qr.to_data_url().as_str(),
    );
    let addr = serve_pages(vec![("/", None, html)]).await;
    browser
        .client
        .goto(&format!("http://{addr}/"))
        .await
        .expect("open the page");
    for css in ["#inline svg", "#img img", "#big img"] {
        let decoded = browser.read_qr(css).await;
        assert!(
            decoded == uri,
            "the QR in `{css}` decoded to a different text than the URI it encodes"
        );
        let parsed = KeyUri::parse(&decoded).expect("the decoded URI parses");
        assert!(parsed.secret() == key_uri.secret(), "same secret");
        assert_eq!(parsed.issuer(), "北洋証券オンラインサービス");
    }
    browser.save_screenshot("library-qr").await;
    browser.assert_no_console_errors("the library's QR page");
    browser.close().await;
}

/// The console check the walk relies on sees what it must: an uncaught script error, an
/// inline script refused by a Content-Security-Policy, a missing script file; and nothing on
/// a clean page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_check_sees_script_errors_and_csp_refusals() {
    let Some(browser) = Browser::start("console check").await else {
        return;
    };
    let page = |body: &str| {
        format!(
            "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>t</title>\
             </head><body><p id=\"p\">ok</p>{body}</body></html>"
        )
    };
    let addr = serve_pages(vec![
        ("/clean", Some("default-src 'none'"), page("")),
        (
            "/throws",
            None,
            page("<script>throw new Error('deliberate');</script>"),
        ),
        (
            "/csp",
            Some("default-src 'none'; script-src 'self'"),
            page("<script>document.title = 'ran';</script>"),
        ),
        (
            "/missing",
            None,
            page("<script src=\"/nowhere.js\"></script>"),
        ),
    ])
    .await;
    for (path, expect_error) in [
        ("/clean", false),
        ("/throws", true),
        ("/csp", true),
        ("/missing", true),
        ("/clean", false),
    ] {
        browser.open(&format!("http://{addr}{path}"), "#p").await;
        let errors = browser.console_errors();
        assert_eq!(
            !errors.is_empty(),
            expect_error,
            "console errors on {path}: {errors:?}"
        );
    }
    browser.close().await;
}
