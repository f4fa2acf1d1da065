//! Argument parsing: each subcommand's flags (`--flag VALUE` or `--flag=VALUE`), switches
//! and positional arguments, and the OTP policy flags they share.

use std::collections::BTreeMap;
use std::io::{self, BufRead as _};

use totp_enroll::{
    Clock as _, OtpPolicy, SystemClock, otp::Algorithm, otp::OtpPolicyBuilder, otp::Secret,
};
use zeroize::Zeroizing;

use crate::CliError;

/// Flags that set the OTP policy, accepted by every subcommand that computes or builds keys.
const POLICY_FLAGS: [&str; 3] = ["--algorithm", "--digits", "--period"];

/// The flags and positional arguments of one subcommand.
pub(crate) struct Parsed {
    values: BTreeMap<&'static str, String>,
    switches: Vec<&'static str>,
    pub(crate) positional: Vec<String>,
}

/// What a subcommand accepts.
pub(crate) struct Spec<'a> {
    /// Flags that take a value (`--flag VALUE` or `--flag=VALUE`).
    pub(crate) values: &'a [&'static str],
    /// Flags without a value.
    pub(crate) switches: &'a [&'static str],
    /// Names of the positional arguments, all required.
    pub(crate) positional: &'a [&'static str],
}

impl Spec<'_> {
    pub(crate) fn parse(&self, args: &[String]) -> Result<Parsed, CliError> {
        let mut parsed = Parsed {
            values: BTreeMap::new(),
            switches: Vec::new(),
            positional: Vec::new(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if !arg.starts_with("--") {
                parsed.positional.push(arg.clone());
                continue;
            }
            let (name, inline_value) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            if let Some(flag) = self.switches.iter().copied().find(|f| *f == name) {
                if inline_value.is_some() {
                    return Err(CliError::new(format!("{flag} takes no value")));
                }
                if parsed.switches.contains(&flag) {
                    return Err(CliError::new(format!("{flag} is given more than once")));
                }
                parsed.switches.push(flag);
                continue;
            }
            let Some(flag) = self.values.iter().copied().find(|f| *f == name) else {
                return Err(CliError::new(format!(
                    "unknown flag {name:?} for this subcommand"
                )));
            };
            let value = match inline_value {
                Some(value) => value,
                None => args
                    .next()
                    .filter(|v| !v.starts_with("--"))
                    .cloned()
                    .ok_or_else(|| CliError::new(format!("missing value for {flag}")))?,
            };
            if parsed.values.insert(flag, value).is_some() {
                return Err(CliError::new(format!("{flag} is given more than once")));
            }
        }
        if parsed.positional.len() != self.positional.len() {
            return Err(CliError::new(match self.positional {
                // The stray text is not quoted: it may be a key given without `--secret`.
                [] => format!(
                    "unexpected positional argument(s) ({} given, none expected)",
                    parsed.positional.len()
                ),
                names => format!(
                    "expected {} positional argument(s): {}",
                    names.len(),
                    names.join(" ")
                ),
            }));
        }
        Ok(parsed)
    }
}

impl Parsed {
    pub(crate) fn required(&self, flag: &str) -> Result<&str, CliError> {
        self.values
            .get(flag)
            .map(String::as_str)
            .ok_or_else(|| CliError::new(format!("missing required flag {flag}")))
    }

    pub(crate) fn optional(&self, flag: &str) -> Option<&str> {
        self.values.get(flag).map(String::as_str)
    }

    pub(crate) fn switch(&self, flag: &str) -> bool {
        self.switches.contains(&flag)
    }

    /// An optional flag's value as an unsigned decimal number (digits only).
    pub(crate) fn number<T: std::str::FromStr>(&self, flag: &str) -> Result<Option<T>, CliError> {
        self.optional(flag)
            .map(|text| {
                let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
                digits_only
                    .then(|| text.parse().ok())
                    .flatten()
                    .ok_or_else(|| CliError::new(format!("{flag} must be a whole number")))
            })
            .transpose()
    }

    /// The secret of `--secret`, or of the first line of standard input for `--secret -`.
    pub(crate) fn secret_text(&self) -> Result<Zeroizing<String>, CliError> {
        let value = self.required("--secret")?;
        if value != "-" {
            return Ok(Zeroizing::new(value.to_owned()));
        }
        let mut line = Zeroizing::new(String::new());
        io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|_| CliError::new("cannot read the secret from standard input"))?;
        Ok(line)
    }

    /// `--algorithm`, `--digits` and `--period` applied to a builder for `issuer`.
    pub(crate) fn policy_builder(&self, issuer: &str) -> Result<OtpPolicyBuilder, CliError> {
        let mut builder = OtpPolicy::builder(issuer);
        if let Some(name) = self.optional("--algorithm") {
            let algorithm: Algorithm = name
                .parse()
                .map_err(|e| CliError::new(format!("--algorithm: {e}")))?;
            builder = builder.algorithm(algorithm);
        }
        if let Some(digits) = self.number("--digits")? {
            builder = builder.digits(digits);
        }
        if let Some(period) = self.number("--period")? {
            builder = builder.period(period);
        }
        Ok(builder)
    }

    /// `--time`, or now from the system clock.
    pub(crate) fn time(&self) -> Result<u64, CliError> {
        match self.number("--time")? {
            Some(time) => Ok(time),
            None => SystemClock
                .now()
                .map_err(|e| CliError::new(format!("cannot read the clock: {e}"))),
        }
    }
}

/// `Spec::values` for a subcommand: its own flags plus the policy flags.
pub(crate) fn with_policy_flags(own: &[&'static str]) -> Vec<&'static str> {
    own.iter().chain(POLICY_FLAGS.iter()).copied().collect()
}

pub(crate) fn build_policy(builder: OtpPolicyBuilder) -> Result<OtpPolicy, CliError> {
    builder
        .build()
        .map_err(|e| CliError::new(format!("invalid policy: {e}")))
}

/// `code`/`verify` key parsing: legacy keys (80 bits and more) are accepted.
pub(crate) fn legacy_secret(parsed: &Parsed) -> Result<Secret, CliError> {
    Secret::from_base32_legacy(&parsed.secret_text()?)
        .map_err(|e| CliError::new(format!("invalid --secret: {e}")))
}
