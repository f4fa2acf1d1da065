//! The settings of a session store: its cookies (names, path, flags), the lifetimes of
//! its sessions and its bounds; and reading a cookie from a request so that a second
//! cookie of the same name (set by a sibling domain to shadow ours) is never taken for
//! ours.

use axum::extract::Request;
use axum::http::header::COOKIE;

/// The idle and absolute lifetimes of sessions (`TOTP_PORTAL_SESSION_IDLE_SECONDS`,
/// `TOTP_PORTAL_SESSION_MAX_SECONDS`), validated: idle at least [`Self::MIN_IDLE`], not
/// above the absolute lifetime, which is at most [`Self::MAX_ABSOLUTE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetimes {
    idle: u64,
    absolute: u64,
}

/// Why a pair of lifetimes is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LifetimeError {
    /// The idle lifetime is shorter than [`SessionLifetimes::MIN_IDLE`].
    #[error("the idle lifetime must be at least {min} seconds")]
    IdleTooShort {
        /// The least accepted.
        min: u64,
    },
    /// The idle lifetime exceeds the absolute one.
    #[error("the idle lifetime must not exceed the absolute lifetime")]
    IdleAboveAbsolute,
    /// The absolute lifetime exceeds [`SessionLifetimes::MAX_ABSOLUTE`].
    #[error("the absolute lifetime must be at most {max} seconds")]
    AbsoluteTooLong {
        /// The most accepted.
        max: u64,
    },
}

impl SessionLifetimes {
    /// Default idle lifetime: 15 minutes.
    pub const DEFAULT_IDLE: u64 = 15 * 60;
    /// Default absolute lifetime: 8 hours.
    pub const DEFAULT_ABSOLUTE: u64 = 8 * 60 * 60;
    /// Shortest idle lifetime: 1 minute (the login's code step needs the time to type).
    pub const MIN_IDLE: u64 = 60;
    /// Longest absolute lifetime: 7 days.
    pub const MAX_ABSOLUTE: u64 = 7 * 24 * 60 * 60;

    /// `idle` and `absolute` seconds, if they are within the bounds.
    pub fn new(idle: u64, absolute: u64) -> Result<Self, LifetimeError> {
        if idle < Self::MIN_IDLE {
            return Err(LifetimeError::IdleTooShort {
                min: Self::MIN_IDLE,
            });
        }
        if absolute > Self::MAX_ABSOLUTE {
            return Err(LifetimeError::AbsoluteTooLong {
                max: Self::MAX_ABSOLUTE,
            });
        }
        if idle > absolute {
            return Err(LifetimeError::IdleAboveAbsolute);
        }
        Ok(Self { idle, absolute })
    }

    /// Seconds of inactivity after which a session ends.
    pub fn idle(&self) -> u64 {
        self.idle
    }

    /// Seconds after its login after which a session ends however active.
    pub fn absolute(&self) -> u64 {
        self.absolute
    }
}

impl Default for SessionLifetimes {
    /// 15 minutes idle, 8 hours in all.
    fn default() -> Self {
        Self {
            idle: Self::DEFAULT_IDLE,
            absolute: Self::DEFAULT_ABSOLUTE,
        }
    }
}

/// The lifetimes and bounds of both session stores (customers, operators).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Idle and absolute lifetimes.
    pub lifetimes: SessionLifetimes,
    /// The most sessions a store holds: beyond it a new login is refused (503), no
    /// session is evicted for it.
    pub max_sessions: usize,
    /// The most sessions of one login ID (or operator): its own oldest is ended for a
    /// new one.
    pub max_per_login: usize,
}

impl SessionSettings {
    /// Default [`Self::max_sessions`].
    pub const DEFAULT_MAX_SESSIONS: usize = 100_000;
    /// Default [`Self::max_per_login`].
    pub const DEFAULT_MAX_PER_LOGIN: usize = 5;
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            lifetimes: SessionLifetimes::default(),
            max_sessions: Self::DEFAULT_MAX_SESSIONS,
            max_per_login: Self::DEFAULT_MAX_PER_LOGIN,
        }
    }
}

/// Cookie and lifetime settings of one session store.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The session cookie's name.
    pub cookie_name: &'static str,
    /// The name of the cookie that carries the login form's CSRF token before any session
    /// exists (the double-submit token).
    pub form_cookie_name: &'static str,
    /// The cookies' `Path`.
    pub path: &'static str,
    /// Whether the cookies are `Secure` (the portal is behind TLS); their names then have
    /// the `__Host-` prefix, which browsers accept only with `Secure`, `Path=/` and no
    /// `Domain`: no sibling domain can set one.
    pub secure: bool,
    /// Lifetimes and bounds.
    pub settings: SessionSettings,
}

impl SessionConfig {
    /// Customers: cookies `portal_session` and `portal_login_csrf` on `/`
    /// (`__Host-portal_session`, `__Host-portal_login_csrf` when `secure`).
    pub fn customer(secure: bool, settings: SessionSettings) -> Self {
        let (cookie_name, form_cookie_name) = if secure {
            ("__Host-portal_session", "__Host-portal_login_csrf")
        } else {
            ("portal_session", "portal_login_csrf")
        };
        Self {
            cookie_name,
            form_cookie_name,
            path: "/",
            secure,
            settings,
        }
    }

    /// Support desk: cookies `desk_session` and `desk_login_csrf` on `/desk`
    /// (`__Host-desk_session`, `__Host-desk_login_csrf` on `/` when `secure`: the prefix
    /// requires `Path=/`).
    pub fn desk(secure: bool, settings: SessionSettings) -> Self {
        if secure {
            Self {
                cookie_name: "__Host-desk_session",
                form_cookie_name: "__Host-desk_login_csrf",
                path: "/",
                secure,
                settings,
            }
        } else {
            Self {
                cookie_name: "desk_session",
                form_cookie_name: "desk_login_csrf",
                path: "/desk",
                secure,
                settings,
            }
        }
    }

    /// The `Set-Cookie` value that sets cookie `name` to `value`.
    pub fn set_cookie(&self, name: &str, value: &str) -> String {
        format!(
            "{name}={value}; Path={}; HttpOnly; SameSite=Strict{}",
            self.path,
            self.secure_flag()
        )
    }

    /// The `Set-Cookie` value that deletes cookie `name`.
    pub fn clear_cookie(&self, name: &str) -> String {
        format!(
            "{name}=; Path={}; Max-Age=0; HttpOnly; SameSite=Strict{}",
            self.path,
            self.secure_flag()
        )
    }

    fn secure_flag(&self) -> &'static str {
        if self.secure { "; Secure" } else { "" }
    }
}

/// What a request carries of one cookie name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieValue {
    /// No such cookie.
    Absent,
    /// Exactly one.
    One(String),
    /// More than one: another site of the domain may have set one to shadow ours (a
    /// browser sends both, in an order the server cannot trust); none is used.
    Several,
}

/// The cookie `name` of `request` (all `Cookie` headers).
pub fn cookie(request: &Request, name: &str) -> CookieValue {
    let mut found = request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim());
    match (found.next(), found.next()) {
        (None, _) => CookieValue::Absent,
        (Some(value), None) => CookieValue::One(value.to_owned()),
        (Some(_), Some(_)) => CookieValue::Several,
    }
}

/// Whether `value` has the form of the portal's random tokens (256 bits, base64url
/// without padding: 43 characters), so that no other text is looked up or echoed.
pub fn is_token(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(cookies: &[&str]) -> Request {
        let mut builder = axum::http::Request::get("/");
        for value in cookies {
            builder = builder.header(COOKIE, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn a_cookie_name_given_twice_is_no_cookie() {
        let name = "portal_session";
        assert_eq!(cookie(&request(&[]), name), CookieValue::Absent);
        assert_eq!(
            cookie(&request(&["a=1; portal_session=x; b=2"]), name),
            CookieValue::One("x".into())
        );
        assert_eq!(
            cookie(&request(&["portal_session=evil; portal_session=x"]), name),
            CookieValue::Several
        );
        assert_eq!(
            cookie(&request(&["portal_session=evil", "portal_session=x"]), name),
            CookieValue::Several,
            "across two headers too"
        );
        assert_eq!(
            cookie(&request(&["xportal_session=1; portal_session_2=2"]), name),
            CookieValue::Absent,
            "only the exact name"
        );
    }

    #[test]
    fn lifetimes_are_bounded() {
        let default = SessionLifetimes::default();
        assert_eq!((default.idle(), default.absolute()), (900, 28_800));
        assert!(SessionLifetimes::new(60, 60).is_ok());
        assert_eq!(
            SessionLifetimes::new(59, 600),
            Err(LifetimeError::IdleTooShort { min: 60 })
        );
        assert_eq!(
            SessionLifetimes::new(601, 600),
            Err(LifetimeError::IdleAboveAbsolute)
        );
        assert_eq!(
            SessionLifetimes::new(600, 7 * 24 * 3600 + 1),
            Err(LifetimeError::AbsoluteTooLong { max: 604_800 })
        );
    }

    #[test]
    fn secure_cookies_have_the_host_prefix_and_path_root() {
        for config in [
            SessionConfig::customer(true, SessionSettings::default()),
            SessionConfig::desk(true, SessionSettings::default()),
        ] {
            for name in [config.cookie_name, config.form_cookie_name] {
                assert!(name.starts_with("__Host-"), "{name}");
                let set = config.set_cookie(name, "v");
                assert!(
                    set.contains("; Path=/;") && set.ends_with("; Secure"),
                    "{set}"
                );
                assert!(!set.contains("Domain"), "{set}");
            }
        }
        let desk = SessionConfig::desk(false, SessionSettings::default());
        assert_eq!((desk.cookie_name, desk.path), ("desk_session", "/desk"));
        assert!(
            desk.clear_cookie("desk_session")
                .starts_with("desk_session=; Path=/desk; Max-Age=0")
        );
    }

    #[test]
    fn tokens_are_43_base64url_characters() {
        assert!(is_token(&"A".repeat(43)));
        assert!(is_token(&format!("{}-_", "a".repeat(41))));
        assert!(!is_token(&"A".repeat(42)));
        assert!(!is_token(&format!("{}=", "A".repeat(42))));
    }
}
