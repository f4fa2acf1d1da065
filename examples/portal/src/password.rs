//! Password hashing and checking with argon2id, in constant time whether or not the login
//! ID exists: an unknown ID is checked against a dummy hash made with the same parameters,
//! so neither the answer nor its timing tells which IDs exist.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};

use crate::error::AppError;

/// Passwords longer than this are refused unhashed (argon2 accepts any length; this bounds
/// the work a request can ask for). Checked after the dummy verification, so it costs the
/// same time.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// Hashes and verifies passwords with one set of argon2id parameters.
#[derive(Clone)]
pub struct Passwords {
    argon2: Argon2<'static>,
    dummy: Arc<str>,
}

impl core::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Passwords").finish_non_exhaustive()
    }
}

impl Passwords {
    /// The OWASP-recommended argon2id parameters (19 MiB, 2 passes, 1 lane): the default.
    pub fn recommended_params() -> Params {
        Params::DEFAULT
    }

    /// The cheapest parameters argon2 allows, for tests only (a debug build hashes the
    /// recommended ones in about a second).
    pub fn test_params() -> Result<Params, AppError> {
        Params::new(Params::MIN_M_COST, 1, 1, None)
            .map_err(|e| AppError::internal(format!("argon2 parameters: {e}")))
    }

    /// A hasher with `params`; makes the dummy hash for unknown IDs.
    pub fn new(params: Params) -> Result<Self, AppError> {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = hash_with(&argon2, "dummy password for unknown login IDs")?;
        Ok(Self {
            argon2,
            dummy: dummy.into(),
        })
    }

    /// An argon2id PHC string (`$argon2id$v=19$m=…`) of `password` with a fresh salt.
    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let argon2 = self.argon2.clone();
        let password = zeroize::Zeroizing::new(password.to_owned());
        tokio::task::spawn_blocking(move || hash_with(&argon2, &password))
            .await
            .map_err(|e| AppError::internal(format!("hashing task: {e}")))?
    }

    /// Whether `password` matches `stored` (a PHC string). With `stored == None` (unknown
    /// login ID) the dummy hash is verified and the answer is `false`: same work, same
    /// answer as a wrong password. Runs on the blocking pool.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, AppError> {
        let argon2 = self.argon2.clone();
        let too_long = password.len() > MAX_PASSWORD_BYTES;
        let known = stored.is_some() && !too_long;
        let hash = stored
            .filter(|_| !too_long)
            .map_or_else(|| self.dummy.to_string(), str::to_owned);
        let password = zeroize::Zeroizing::new(if too_long {
            String::new()
        } else {
            password.to_owned()
        });
        let matched = tokio::task::spawn_blocking(move || {
            argon2
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await
        .map_err(|e| AppError::internal(format!("verification task: {e}")))?;
        Ok(matched && known)
    }
}

fn hash_with(argon2: &Argon2<'_>, password: &str) -> Result<String, AppError> {
    argon2
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::internal(format!("argon2: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn passwords() -> Passwords {
        Passwords::new(Passwords::test_params().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_hash_is_argon2id_and_verifies_only_its_password() {
        let p = passwords();
        let hash = p.hash("demo-login-pw").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(!hash.contains("demo-login-pw"));
        assert!(p.verify("demo-login-pw", Some(&hash)).await.unwrap());
        assert!(!p.verify("demo-login-pw ", Some(&hash)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_id_is_checked_against_the_dummy_and_fails() {
        let p = passwords();
        assert!(
            !p.verify("dummy password for unknown login IDs", None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_garbage_stored_hash_fails_closed() {
        assert!(!passwords().verify("x", Some("not a hash")).await.unwrap());
    }
}
