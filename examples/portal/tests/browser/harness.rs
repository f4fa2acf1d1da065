//! Headless Chromium for the browser tests: finds Debian's `chromium` and `chromedriver`,
//! starts chromedriver on a free 127.0.0.1 port, opens a fantoccini session over plain HTTP
//! (no TLS, nothing downloaded), and reads QR codes back from element screenshots with
//! `rqrr`, as a phone camera would.
//!
//! Without Chromium the tests say plainly that they were skipped and pass, except under
//! `CI=true`, where a missing browser is a failure (the rule of the PostgreSQL suites).

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Debian's paths first, then `$PATH` (`TOTP_PORTAL_CHROMIUM` and `TOTP_PORTAL_CHROMEDRIVER`
/// override both).
const CHROMIUM: &[&str] = &["/usr/bin/chromium", "chromium", "chromium-browser"];
const CHROMEDRIVER: &[&str] = &["/usr/bin/chromedriver", "chromedriver"];

/// The command-line switches of every session: headless, no network of its own (no
/// component updates, sync, QUIC, first-run pages), a fixed window so that screenshots are
/// comparable from run to run.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,2000",
];

/// Writes straight to the process's stderr, past libtest's output capture, so a skip
/// notice is seen in a plain `cargo test`.
pub fn note(message: &str) {
    let _ = writeln!(std::io::stderr(), "\n{message}\n");
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `$variable` if set (that path only), else the first of `candidates` found.
fn find_program(variable: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    for candidate in candidates {
        let path = Path::new(candidate);
        if path.is_absolute() {
            if path.is_file() {
                return Some(path.to_path_buf());
            }
            continue;
        }
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(candidate))
                .find(|p| p.is_file())
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

/// The browser and its driver, or `None` after saying why the test `name` is skipped.
/// Panics under CI when either is missing.
pub fn find_browser(name: &str) -> Option<(PathBuf, PathBuf)> {
    let chromium = find_program("TOTP_PORTAL_CHROMIUM", CHROMIUM);
    let driver = find_program("TOTP_PORTAL_CHROMEDRIVER", CHROMEDRIVER);
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        (chromium, driver) => {
            let missing = [
                ("chromium", chromium.is_none()),
                ("chromedriver", driver.is_none()),
            ]
            .iter()
            .filter(|(_, missing)| *missing)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(" and ");
            assert!(
                !under_ci(),
                "CI is set but {missing} is not installed: the browser test `{name}` must run \
                 in CI. Install them: apt-get install -y chromium chromium-driver"
            );
            static NOTICE: std::sync::Once = std::sync::Once::new();
            NOTICE.call_once(|| {
                note(&format!(
                    "NOTE: the portal's browser tests SKIPPED (they pass without checking \
                     anything): {missing} not found (looked for $TOTP_PORTAL_CHROMIUM and \
                     $TOTP_PORTAL_CHROMEDRIVER, else /usr/bin/chromium and \
                     /usr/bin/chromedriver, then $PATH).\n      \
                     Run them with: apt-get install -y chromium chromium-driver"
                ));
            });
            None
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// A fresh, empty directory under Cargo's per-target temporary directory.
pub fn fresh_dir(prefix: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{prefix}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

/// The workspace's `target/` directory (the parent of `CARGO_TARGET_TMPDIR`).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp")
        .to_path_buf()
}

/// chromedriver (and, through its process group, every Chromium it started) plus the
/// browser profile directory. Dropping it kills the group and removes the profile, also
/// when a test panics.
pub struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn start(driver: &Path) -> Self {
        let port = free_port();
        let profile = fresh_dir("chromium-profile");
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: the Drop below ends chromedriver and Chromium together.
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let driver = Self {
            child,
            port,
            profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(driver.addr()).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {} within 20 s",
                driver.addr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group id is chromedriver's pid (process_group(0) above): every process in it
        // was started by this test.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// One headless Chromium session.
pub struct Browser {
    pub client: Client,
    session_id: String,
    // Dropped last: the driver outlives the client.
    driver: Driver,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium, or `None` (after the skip notice) when
    /// they are not installed.
    pub async fn start(test: &str) -> Option<Self> {
        let (chromium, driver_path) = find_browser(test)?;
        let driver = Driver::start(&driver_path);
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", driver.profile.display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": args,
            },
            // The console (JavaScript errors, CSP violations) for `severe_log_entries`.
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .expect("open a Chromium session through chromedriver");
        let session_id = client
            .session_id()
            .await
            .expect("session id")
            .expect("a W3C session has an id");
        Some(Self {
            client,
            session_id,
            driver,
        })
    }

    /// Ends the session (Chromium quits), then the Drop of the driver stops chromedriver.
    pub async fn close(self) {
        let Self { client, driver, .. } = self;
        let _ = client.close().await;
        drop(driver);
    }

    /// Entries of level SEVERE from the browser's console since the last call, as
    /// `(source, message)`: uncaught JavaScript errors (`javascript`), Content-Security-Policy
    /// refusals (`security`), failed loads (`network`). Read through chromedriver's log
    /// endpoint, so errors raised while a page loads are seen too.
    pub fn severe_log_entries(&self) -> Vec<(String, String)> {
        let body = json!({ "type": "browser" }).to_string();
        let path = format!("/session/{}/se/log", self.session_id);
        let response = http_post(self.driver.addr(), &path, &body);
        let json: Value = serde_json::from_str(&response).unwrap_or_else(|e| {
            panic!(
                "chromedriver's log endpoint answered something else than JSON ({e}): {response}"
            )
        });
        json["value"]
            .as_array()
            .unwrap_or_else(|| panic!("no log entries in chromedriver's answer: {json}"))
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| {
                (
                    entry["source"].as_str().unwrap_or_default().to_owned(),
                    entry["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// Asserts that the browser logged no error since the last check (`screen` names the
    /// page in the message). Allowed: a page answered with a 4xx status on purpose (a
    /// refused form is shown again with 401, 403, 409 or 429), and the browser's own request
    /// for a tab icon. Not allowed: any script error, any CSP refusal, any failed load of a
    /// script, a stylesheet or an image, any 5xx.
    pub fn assert_no_console_errors(&self, screen: &str) {
        let errors = self.console_errors();
        assert!(
            errors.is_empty(),
            "the browser logged errors on {screen}:\n  {}",
            errors.join("\n  ")
        );
    }

    /// The console entries [`Self::assert_no_console_errors`] fails on, since the last read.
    pub fn console_errors(&self) -> Vec<String> {
        self.severe_log_entries()
            .into_iter()
            .filter(|(source, message)| !(source == "network" && is_intended_refusal(message)))
            .map(|(source, message)| format!("[{source}] {message}"))
            .collect()
    }

    /// The element with this CSS selector, waiting briefly for it to appear.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let wait = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css));
        match wait.await {
            Ok(element) => element,
            Err(e) => {
                let url = self.client.current_url().await.map(|u| u.to_string());
                let source = self.client.source().await.unwrap_or_default();
                panic!(
                    "no element `{css}` on {} ({e}); page source:\n{source}",
                    url.unwrap_or_default()
                )
            }
        }
    }

    /// The current URL's path.
    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.path().to_owned())
            .expect("the current URL")
    }

    /// Opens `url` and waits for `css`.
    pub async fn open(&self, url: &str, css: &str) {
        self.client.goto(url).await.expect("navigate");
        self.find(css).await;
    }

    /// Types `text` into the empty field `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear a field");
        field.send_keys(text).await.expect("type into a field");
    }

    /// Clicks `css`.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    /// The rendered text of `css` (empty for an element that is not displayed).
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    /// Whether `css` exists on the page (without waiting).
    pub async fn exists(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// Waits until the page at `path` has the heading `h1`; on a timeout the message names
    /// the page actually shown and its error text.
    pub async fn expect_page(&self, path: &str, h1: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let current = self.path().await;
            let heading = match self.client.find(Locator::Css("h1")).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if current == path && heading == h1 {
                return;
            }
            if Instant::now() >= deadline {
                let error = match self.client.find(Locator::Css("#error")).await {
                    Ok(element) => element.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                panic!(
                    "expected the page {path} 「{h1}」, but the browser shows {current} \
                     「{heading}」 (error text: 「{error}」)"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Scrolls `css` to the middle of the window (for a screenshot that shows it).
    pub async fn scroll_to(&self, css: &str) {
        let element = self.find(css).await;
        let arg = serde_json::to_value(&element).expect("an element as a script argument");
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'});",
                vec![arg],
            )
            .await
            .expect("scroll into view");
    }

    /// Scrolls back to the top of the page.
    pub async fn scroll_top(&self) {
        self.client
            .execute("window.scrollTo(0, 0);", vec![])
            .await
            .expect("scroll to the top");
    }

    /// Saves a PNG of the page's body as `target/portal-screenshots/<name>.png` and
    /// returns its path.
    pub async fn save_screenshot(&self, name: &str) -> PathBuf {
        // The page's content (header to the end of <main>), not the window's empty rest; a
        // page longer than the window is shot in a window grown to fit it, then restored.
        let sizes = self
            .client
            .execute(
                "return [window.innerHeight, window.outerHeight, \
                 document.documentElement.scrollHeight];",
                vec![],
            )
            .await
            .expect("page height");
        let size = |i: usize| sizes[i].as_u64().expect("a height in pixels");
        let (inner, outer, content) = (size(0), size(1), size(2));
        let (width, height) = self.client.get_window_size().await.expect("window size");
        let grow = content > inner;
        if grow {
            let needed = u32::try_from(content + (outer - inner)).expect("a window height");
            self.client
                .set_window_size(u32::try_from(width).expect("a window width"), needed)
                .await
                .expect("grow the window");
        }
        let png = self
            .find("body")
            .await
            .screenshot()
            .await
            .expect("page screenshot");
        if grow {
            self.client
                .set_window_size(
                    u32::try_from(width).expect("a window width"),
                    u32::try_from(height).expect("a window height"),
                )
                .await
                .expect("restore the window");
        }
        let dir = target_dir().join("portal-screenshots");
        std::fs::create_dir_all(&dir).expect("create target/portal-screenshots");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write a screenshot");
        path
    }

    /// Screenshots the element `css` and decodes the one QR code in it from its pixels.
    pub async fn read_qr(&self, css: &str) -> String {
        let element = self.find(css).await;
        let png = element.screenshot().await.expect("element screenshot");
        decode_qr_png(&png)
    }
}

/// Whether a failed-load message (`<url> - Failed to load resource: the server responded
/// with a status of 401 (Unauthorized)`) is a page answered with a 4xx status (a path
/// without a file extension, outside `/static/`), or the tab icon, rather than a failed
/// script, stylesheet or image.
fn is_intended_refusal(message: &str) -> bool {
    let Some((url, reason)) = message.split_once(" - ") else {
        return false;
    };
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map_or("", |(_, path)| path);
    if path == "favicon.ico" {
        return true;
    }
    let status_4xx = reason
        .split_once("status of ")
        .is_some_and(|(_, status)| status.starts_with('4'));
    // A page's path (`/apply`, `/login/otp`) has no file extension; the portal's
    // subresources (`/static/app.js`, `/static/app.css`) and any other file do.
    let document = !path.starts_with("static/")
        && !path
            .split('?')
            .next()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .contains('.');
    status_4xx && document
}

/// A minimal HTTP/1.1 POST (`Connection: close`; chromedriver answers HTTP/1.0 with nothing)
/// to 127.0.0.1 (chromedriver's non-W3C endpoints, which fantoccini
/// does not wrap); returns the body.
fn http_post(addr: SocketAddr, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect to chromedriver");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .expect("send to chromedriver");
    // chromedriver keeps the connection open after its answer: read the head, then
    // exactly Content-Length bytes.
    let mut reader = std::io::BufReader::new(stream);
    let mut head = String::new();
    let mut content_length = None;
    loop {
        let mut line = String::new();
        let n = reader
            .read_line(&mut line)
            .expect("read chromedriver's answer");
        if n == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse::<usize>().ok();
        }
        head.push_str(&line);
    }
    let length = content_length
        .unwrap_or_else(|| panic!("chromedriver answered without a Content-Length: {head}"));
    let mut body = vec![0; length];
    reader
        .read_exact(&mut body)
        .expect("read chromedriver's answer body");
    String::from_utf8(body).expect("chromedriver answers UTF-8 JSON")
}

/// White pixels added around a screenshot before decoding: an element cropped at the edge
/// of the code's quiet zone (or without one) still gives the decoder a quiet zone.
const MARGIN: usize = 40;

/// Decodes a PNG (any colour type, 8 or 16 bits) to greyscale and reads exactly one QR code
/// from it with `rqrr`.
pub fn decode_qr_png(png_bytes: &[u8]) -> String {
    let (width, height, luma) = png_to_grey(png_bytes);
    let padded_width = width + 2 * MARGIN;
    let padded_height = height + 2 * MARGIN;
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(padded_width, padded_height, |x, y| {
            if x < MARGIN || y < MARGIN || x >= width + MARGIN || y >= height + MARGIN {
                255
            } else {
                luma[(y - MARGIN) * width + (x - MARGIN)]
            }
        });
    let grids = image.detect_grids();
    assert_eq!(
        grids.len(),
        1,
        "expected exactly one QR code in the {width}×{height} screenshot"
    );
    let (_meta, content) = grids[0]
        .decode()
        .expect("the QR code in the screenshot decodes");
    content
}

/// `(width, height, luma)` of a PNG, alpha composited over white.
pub fn png_to_grey(png_bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buffer = vec![
        0;
        reader
            .output_buffer_size()
            .expect("a PNG of a reasonable size")
    ];
    let info = reader.next_frame(&mut buffer).expect("PNG pixels");
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => unreachable!("EXPAND turns palettes into RGB"),
    };
    let width = info.width as usize;
    let height = info.height as usize;
    let luma = buffer[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|px| {
            let (grey, alpha) = match px {
                [g] => (f32::from(*g), 255.0),
                [g, a] => (f32::from(*g), f32::from(*a)),
                [r, g, b] => (luma_of(*r, *g, *b), 255.0),
                [r, g, b, a] => (luma_of(*r, *g, *b), f32::from(*a)),
                _ => unreachable!("chunks_exact"),
            };
            let a = alpha / 255.0;
            (grey * a + 255.0 * (1.0 - a)).round().clamp(0.0, 255.0) as u8
        })
        .collect::<Vec<_>>();
    assert_eq!(luma.len(), width * height, "one luma value per pixel");
    (width, height, luma)
}

fn luma_of(r: u8, g: u8, b: u8) -> f32 {
    0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b)
}
