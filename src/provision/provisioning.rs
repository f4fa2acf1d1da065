//! [`Provisioning`]: what the registration screen shows (the QR code, the account name, the
//! key type and the setup key hidden behind "show code"), at enrollment and again when the
//! code is re-displayed for another device.

use core::fmt;

use zeroize::Zeroizing;

use crate::error::QrError;
use crate::otp::policy::OtpPolicy;
use crate::provision::qr::QrCode;
use crate::provision::uri::KeyUri;

/// The kind of key an authenticator app is asked to add ("キーの種類").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// Time based (TOTP, RFC 6238): the app's "時間ベース" / "Time based". The only kind
    /// this crate issues; counter-based (HOTP) keys are not supported.
    TimeBased,
}

impl KeyType {
    /// The type in an `otpauth://` URI: `"totp"`.
    pub const fn uri_type(self) -> &'static str {
        match self {
            Self::TimeBased => "totp",
        }
    }
}

/// Everything the portal's registration screen shows for one key (Japanese portal manual, new
/// enrollment step 3 and "re-display code" step 3): the QR code of the key URI, the account
/// name, the key type, and the setup key for customers who type or paste it.
///
/// The setup key is never part of an ordinary accessor: it is returned only by the two
/// explicitly named reveal calls, which the portal makes when the customer presses "show
/// code" ([`Provisioning::reveal_setup_key`]) or "copy" ([`Provisioning::reveal_setup_key_for_copy`]).
/// The URI and every rendering of the QR code contain the secret too. `Debug` shows neither
/// the key nor the URI.
///
/// ```
/// use totp_enroll::{provision::KeyType, provision::KeyUri, OtpPolicy, Provisioning, otp::Secret};
/// let secret = Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")?;
/// let policy = OtpPolicy::new("北洋証券オンラインサービス")?;
/// let screen = Provisioning::new(KeyUri::new(secret, "taro yamada", &policy)?);
/// assert!(screen.qr()?.width() > 0);
/// assert_eq!(screen.issuer(), "北洋証券オンラインサービス");
/// assert_eq!(screen.account(), "taro yamada");
/// assert_eq!(screen.key_type(), KeyType::TimeBased);
/// assert_eq!(screen.reveal_setup_key().as_str(), "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP");
/// assert_eq!(screen.reveal_setup_key_for_copy().as_str(), "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
/// assert!(!format!("{screen:?}").contains("JBSW"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Provisioning {
    key_uri: KeyUri,
}

impl Provisioning {
    /// The registration screen of `key_uri`. Nothing is rendered yet: the QR code is
    /// rendered when [`Provisioning::qr`] is called (a JSON API that returns only the URI
    /// never pays for it).
    pub fn new(key_uri: KeyUri) -> Self {
        Self { key_uri }
    }

    /// The `otpauth://` key URI the QR code encodes. **Contains the secret.**
    pub fn uri(&self) -> Zeroizing<String> {
        self.key_uri.to_uri()
    }

    /// Renders the QR code of [`Provisioning::uri`] (each call renders afresh; the
    /// modules are zeroized when the code is dropped). **Its renderings contain the
    /// secret.**
    ///
    /// # Errors
    /// [`QrError::DataTooLong`] if the URI does not fit in a QR code. With the length limits
    /// [`KeyUri`] and [`OtpPolicy`] enforce, the longest URI (about 1,800 bytes) fits, so
    /// this does not happen for a valid `KeyUri`; the error is kept so a change of limits can
    /// never turn into a panic.
    pub fn qr(&self) -> Result<QrCode, QrError> {
        QrCode::new(&self.key_uri.to_uri())
    }

    /// The issuer (service name), as carried by the URI's label prefix and `issuer`
    /// parameter: what the authenticator app shows as the entry's name (the Japanese portal manual's
    /// 「アカウント名」 is this, e.g. `北洋証券オンラインサービス`, not the customer's login).
    pub fn issuer(&self) -> &str {
        self.key_uri.issuer()
    }

    /// The account part of the URI label (after `ISSUER:`), which apps show next to the
    /// issuer to tell several accounts of one service apart.
    pub fn account(&self) -> &str {
        self.key_uri.account()
    }

    /// The key type to choose when adding the key by hand: always [`KeyType::TimeBased`].
    pub fn key_type(&self) -> KeyType {
        KeyType::TimeBased
    }

    /// Algorithm, digits and period the app must use (the defaults for the Japanese securities portal (examples/portal)).
    pub fn policy(&self) -> &OtpPolicy {
        self.key_uri.policy()
    }

    /// The setup key for the "show code" box: uppercase base32 in groups of four separated
    /// by spaces (`ABCD EFGH …`). **This is the secret**: call it only when the customer
    /// asks to see the key, and do not log or cache the result.
    pub fn reveal_setup_key(&self) -> Zeroizing<String> {
        self.key_uri.secret().to_setup_key()
    }

    /// The setup key for the "copy" button: plain, unspaced, unpadded uppercase base32, as
    /// authenticator apps accept it when pasted. **This is the secret**: call it only when
    /// the customer presses "copy", and do not log or cache the result.
    pub fn reveal_setup_key_for_copy(&self) -> Zeroizing<String> {
        self.key_uri.secret().to_base32()
    }
}

impl fmt::Debug for Provisioning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provisioning")
            .field("issuer", &self.issuer())
            .field("account", &self.account())
            .field("key_type", &self.key_type())
            .field("setup_key", &format_args!("[REDACTED]"))
            .finish()
    }
}
