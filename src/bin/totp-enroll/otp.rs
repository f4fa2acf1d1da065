//! The one-time password subcommands: `new`, `code`, `verify`, `uri`, `parse-uri`, `qr`.

use std::process::ExitCode;

use totp_enroll::{Provisioning, otp::Secret, otp::Totp, provision::KeyUri, provision::QrCode};
use zeroize::Zeroizing;

use crate::args::{Spec, build_policy, legacy_secret, with_policy_flags};
use crate::{CliError, Outcome, write_private_file};

/// The issuer of the policy `code` and `verify` build (shown nowhere).
const ISSUER: &str = "totp-enroll";
/// Pixels per module of a PNG written by `qr`.
const PNG_SCALE: u32 = 8;

/// `new`: a fresh key; prints the grouped setup key, the URI and a terminal QR code.
pub(crate) fn cmd_new(args: &[String]) -> Result<Outcome, CliError> {
    let values = with_policy_flags(&["--issuer", "--account"]);
    let parsed = Spec {
        values: &values,
        switches: &[],
        positional: &[],
    }
    .parse(args)?;
    let policy = build_policy(parsed.policy_builder(parsed.required("--issuer")?)?)?;
    let secret = Secret::generate().map_err(|e| CliError::new(e.to_string()))?;
    let key_uri = KeyUri::new(secret, parsed.required("--account")?, &policy)
        .map_err(|e| CliError::new(format!("invalid --account: {e}")))?;
    let provisioning = Provisioning::new(key_uri);
    let qr = provisioning
        .qr()
        .map_err(|e| CliError::new(format!("QR code: {e}")))?;
    let mut out = Zeroizing::new(String::new());
    out.push_str("setup key: ");
    out.push_str(&provisioning.reveal_setup_key());
    out.push_str("\nuri: ");
    out.push_str(&provisioning.uri());
    out.push('\n');
    out.push_str(&qr.to_terminal());
    Ok(Outcome::secret(out))
}

/// `code`: the code at `--time` (default now), and nothing else.
pub(crate) fn cmd_code(args: &[String]) -> Result<Outcome, CliError> {
    let values = with_policy_flags(&["--secret", "--time"]);
    let parsed = Spec {
        values: &values,
        switches: &[],
        positional: &[],
    }
    .parse(args)?;
    let secret = legacy_secret(&parsed)?;
    let policy = build_policy(parsed.policy_builder(ISSUER)?)?;
    let time = parsed.time()?;
    let code = Totp::new(&secret, &policy).code_at(time);
    Ok(Outcome::success(format!("{code}\n")))
}

/// `verify`: `ok STEP` and status 0, or the rejection and status 1.
pub(crate) fn cmd_verify(args: &[String]) -> Result<Outcome, CliError> {
    let values = with_policy_flags(&["--secret", "--code", "--time", "--window"]);
    let parsed = Spec {
        values: &values,
        switches: &[],
        positional: &[],
    }
    .parse(args)?;
    let secret = legacy_secret(&parsed)?;
    let code = parsed.required("--code")?;
    let mut builder = parsed.policy_builder(ISSUER)?;
    if let Some(window) = parsed.number::<u32>("--window")? {
        builder = builder.window(window, window);
    }
    let policy = build_policy(builder)?;
    let time = parsed.time()?;
    match Totp::new(&secret, &policy).verify_input(code, time, None) {
        Ok(verified) => Ok(Outcome::success(format!("ok {}\n", verified.step()))),
        Err(rejection) => Ok(Outcome {
            stdout: Zeroizing::new(format!("rejected: {rejection}\n")),
            notice: None,
            status: ExitCode::FAILURE,
        }),
    }
}

/// `uri`: the key URI of an existing key (at least 128 bits).
pub(crate) fn cmd_uri(args: &[String]) -> Result<Outcome, CliError> {
    let values = with_policy_flags(&["--secret", "--issuer", "--account"]);
    let parsed = Spec {
        values: &values,
        switches: &[],
        positional: &[],
    }
    .parse(args)?;
    let secret = Secret::from_base32(&parsed.secret_text()?)
        .map_err(|e| CliError::new(format!("invalid --secret: {e}")))?;
    let policy = build_policy(parsed.policy_builder(parsed.required("--issuer")?)?)?;
    let key_uri = KeyUri::new(secret, parsed.required("--account")?, &policy)
        .map_err(|e| CliError::new(format!("invalid --account: {e}")))?;
    let mut out = key_uri.to_uri();
    out.push('\n');
    Ok(Outcome::secret(out))
}

/// `parse-uri`: one `key=value` line per field; the secret only with `--reveal`.
pub(crate) fn cmd_parse_uri(args: &[String]) -> Result<Outcome, CliError> {
    let parsed = Spec {
        values: &[],
        switches: &["--reveal"],
        positional: &["URI"],
    }
    .parse(args)?;
    let text = parsed.positional.first().map_or("", String::as_str);
    let key_uri = KeyUri::parse(text).map_err(|e| CliError::new(format!("invalid URI: {e}")))?;
    let policy = key_uri.policy();
    let secret = if parsed.switch("--reveal") {
        key_uri.secret().to_base32()
    } else {
        Zeroizing::new("[REDACTED]".to_owned())
    };
    Ok(Outcome::secret(Zeroizing::new(format!(
        "issuer={}\naccount={}\nalgorithm={}\ndigits={}\nperiod={}\nsecret={}\n",
        key_uri.issuer(),
        key_uri.account(),
        policy.algorithm(),
        policy.digits().get(),
        policy.period(),
        secret.as_str(),
    ))))
}

/// `qr`: writes the QR code of a valid key URI (the text exactly as given) as PNG and/or SVG.
pub(crate) fn cmd_qr(args: &[String]) -> Result<Outcome, CliError> {
    let parsed = Spec {
        values: &["--uri", "--png", "--svg"],
        switches: &[],
        positional: &[],
    }
    .parse(args)?;
    let uri = parsed.required("--uri")?;
    KeyUri::parse(uri).map_err(|e| CliError::new(format!("invalid --uri: {e}")))?;
    let (png_path, svg_path) = (parsed.optional("--png"), parsed.optional("--svg"));
    if png_path.is_none() && svg_path.is_none() {
        return Err(CliError::new("qr needs --png FILE or --svg FILE"));
    }
    let qr = QrCode::new(uri).map_err(|e| CliError::new(format!("QR code: {e}")))?;
    let mut written = String::new();
    if let Some(path) = png_path {
        let png = qr
            .to_png(PNG_SCALE)
            .map_err(|e| CliError::new(format!("PNG: {e}")))?;
        write_private_file(path, &png)?;
        written.push_str(&format!("wrote {path}\n"));
    }
    if let Some(path) = svg_path {
        write_private_file(path, qr.to_svg().as_bytes())?;
        written.push_str(&format!("wrote {path}\n"));
    }
    Ok(Outcome::success(written))
}
