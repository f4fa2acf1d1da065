//! Real-browser end-to-end tests: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven over chromedriver with fantoccini.
//!
//! * A QR code rendered by the library and shown by Chromium decodes back, from the
//!   screenshot's pixels, to the exact URI.
//! * The seed manual's walk through the portal (see `walk` below).
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

#[path = "browser/harness.rs"]
mod harness;

use std::net::{Ipv4Addr, SocketAddr};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use totp_enroll::{KeyUri, OtpPolicy, QrCode, Secret};

/// Serves `html` to every request on a fresh 127.0.0.1 port until the runtime ends.
async fn serve_page(html: String) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind a page server");
    let addr = listener.local_addr().expect("page server address");
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let html = html.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let (status, body) = if request.starts_with(b"GET / ") {
                    ("200 OK", html.as_str())
                } else {
                    ("404 Not Found", "")
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
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
        qr.to_data_url(),
        qr.to_data_url(),
    );
    let addr = serve_page(html).await;
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
