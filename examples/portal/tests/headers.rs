//! Every response carries the security headers, whoever answers it: the pages, but also
//! the body limit's 413 (which answers before any handler), the fallback's 404, the
//! router's 405, a CSRF refusal, a server fault's 500 and storage down's 503.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use support::{Browser, TARO, assert_security_headers, portal};
use totp_enroll_portal::db::Db;

/// A form POST of `size` bytes to `path`, with or without its `Content-Length`.
fn big_post(path: &str, size: usize, content_length: bool) -> Request<Body> {
    let body = format!("login_id={}", "x".repeat(size.saturating_sub(9)));
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if content_length {
        request = request.header(header::CONTENT_LENGTH, body.len());
    }
    request.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn a_body_over_16_kib_gets_a_413_with_every_security_header() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    for content_length in [true, false] {
        for path in ["/login", "/desk/login", "/no-such-page"] {
            let page = b.send(big_post(path, 17 * 1024, content_length)).await;
            let what = format!("a 17 KiB POST to {path} (Content-Length: {content_length})");
            assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE, "{what}");
            assert_security_headers(&page, &what);
            assert!(
                page.body.contains("送信された内容が大きすぎます。"),
                "the Japanese page, not a bare 413: {what}: {}",
                page.body
            );
        }
    }
}

#[tokio::test]
async fn not_found_method_not_allowed_and_csrf_refusals_carry_the_headers() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    let not_found = b.get("/no-such-page").await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    assert_security_headers(&not_found, "a 404");
    for (method, path) in [
        (Method::PUT, "/login"),
        (Method::DELETE, "/account"),
        (Method::GET, "/logout"),
    ] {
        let request = Request::builder()
            .method(method.clone())
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let page = b.send(request).await;
        assert_eq!(
            page.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_security_headers(&page, &format!("{method} {path}"));
    }
    let forbidden = b.post_raw("/login", &[("login_id", TARO.0)]).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_security_headers(&forbidden, "a CSRF refusal");
}

#[tokio::test]
async fn a_server_fault_and_storage_down_carry_the_headers() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.get("/login").await;
    // The customers' table is gone: the login's look-up fails (a fault, not transient).
    match &portal.state.db {
        Db::Sqlite(pool) => {
            sqlx::query("DROP TABLE portal_customers")
                .execute(pool)
                .await
                .unwrap();
        }
        Db::Postgres(_) => unreachable!("the tests' portal runs on SQLite"),
    }
    let fault = b
        .post("/login", &[("login_id", TARO.0), ("password", TARO.1)])
        .await;
    assert_eq!(fault.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(fault.body.contains("システムエラー"));
    assert_security_headers(&fault, "a 500");
    match portal.state.engine.store() {
        totp_enroll_portal::store::PortalStore::Sqlite(store) => store.close().await,
        totp_enroll_portal::store::PortalStore::Postgres(store) => store.close().await,
    }
    let down = b
        .post("/login", &[("login_id", TARO.0), ("password", TARO.1)])
        .await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_security_headers(&down, "a 503");
}
