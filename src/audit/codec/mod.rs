//! The byte form of an [`AuditEvent`] in a store's outbox.
//!
//! ```text
//! "TAE" 0x01                       magic and format version
//! account: text                    the account id
//! at: u64                          Unix seconds
//! kind: u8, then its fields        one tag per AuditKind variant (see `Tag`)
//! context: u8 flags, then texts    bit 0 request id, bit 1 client, bit 2 user agent
//! ```
//!
//! Integers are big-endian; a text is a `u16` byte length and UTF-8. Decoding validates
//! every name as its constructor would ([`AccountId`], [`Operator`], reset reasons), so an
//! edited outbox row is a typed [`AuditDecodeError`], never a panic nor a forged line; and
//! it refuses trailing bytes. The tags and the layout are stable: rows written by one
//! version are read by the next.

use crate::account::{AccountId, Operator, check_reason};
use crate::audit::{AuditEvent, AuditKind, Operation, RequestContext};
use crate::error::AuditDecodeError;
use crate::error::{CodeError, RecoveryCodeError, Refusal};

const MAGIC: &[u8; 4] = b"TAE\x01";

/// The kind tags (stable).
mod tag {
    pub(super) const ENROLLMENT_STARTED: u8 = 1;
    pub(super) const STEP_UP_REFUSED: u8 = 2;
    pub(super) const ENROLLMENT_CONFIRMED: u8 = 3;
    pub(super) const ENROLLMENT_EXPIRED: u8 = 4;
    pub(super) const LOGIN_ACCEPTED: u8 = 5;
    pub(super) const REFUSED: u8 = 6;
    pub(super) const LOCKED: u8 = 7;
    pub(super) const REDISPLAYED: u8 = 8;
    pub(super) const REDISPLAY_DISABLED: u8 = 9;
    pub(super) const STOPPED: u8 = 10;
    pub(super) const ADMINISTRATIVELY_RESET: u8 = 11;
    pub(super) const FORGOTTEN: u8 = 12;
    pub(super) const RECOVERY_CODES_ISSUED: u8 = 13;
    pub(super) const RECOVERY_CODE_USED: u8 = 14;
    pub(super) const RECOVERY_CODES_LOW: u8 = 15;
    pub(super) const RESYNCED: u8 = 16;
    pub(super) const DIAGNOSED: u8 = 17;
    pub(super) const UNLOCKED: u8 = 18;
    pub(super) const AUTHENTICATOR_ADDED: u8 = 19;
    pub(super) const AUTHENTICATOR_CONFIRMED: u8 = 20;
    pub(super) const AUTHENTICATOR_REMOVED: u8 = 21;
    pub(super) const ENROLLMENT_SHOWN_AGAIN: u8 = 22;
}

impl AuditEvent {
    /// The event's byte form, as the engine writes it to a store's outbox.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(MAGIC);
        text(&mut out, self.account.as_str());
        out.extend_from_slice(&self.at.to_be_bytes());
        encode_kind(&mut out, &self.kind);
        let context = self.context.as_ref();
        let fields = [
            context.and_then(RequestContext::request_id),
            context.and_then(RequestContext::client),
            context.and_then(RequestContext::user_agent),
        ];
        let flags = fields
            .iter()
            .zip([1_u8, 2, 4])
            .filter(|(field, _)| field.is_some())
            .fold(0_u8, |flags, (_, bit)| flags | bit);
        out.push(if context.is_some() { flags | 0x80 } else { 0 });
        for field in fields.into_iter().flatten() {
            text(&mut out, field);
        }
        out
    }

    /// Reads an event written by [`AuditEvent::encode`]; every name is validated again.
    pub fn decode(bytes: &[u8]) -> Result<Self, AuditDecodeError> {
        let mut reader = Reader(bytes);
        if reader.take(MAGIC.len())? != MAGIC {
            return Err(AuditDecodeError::BadHeader);
        }
        let account = AccountId::new(reader.text()?)
            .map_err(|_| AuditDecodeError::InvalidField("account"))?;
        let at = reader.u64()?;
        let kind = decode_kind(&mut reader)?;
        let flags = reader.u8()?;
        if flags & !0x87 != 0 || (flags != 0 && flags & 0x80 == 0) {
            return Err(AuditDecodeError::InvalidField("context"));
        }
        let context = if flags & 0x80 == 0 {
            None
        } else {
            let mut context = RequestContext::new();
            if flags & 1 != 0 {
                context = context.with_request_id(reader.context_text()?);
            }
            if flags & 2 != 0 {
                context = context.with_client(reader.context_text()?);
            }
            if flags & 4 != 0 {
                context = context.with_user_agent(reader.context_text()?);
            }
            Some(context)
        };
        if !reader.0.is_empty() {
            return Err(AuditDecodeError::TrailingBytes);
        }
        Ok(Self {
            account,
            at,
            kind,
            context,
        })
    }
}

fn text(out: &mut Vec<u8>, value: &str) {
    // Every text the crate puts in an event is bounded far below 64 KiB (names ≤ 1 KiB,
    // context values ≤ 256 bytes); a longer one is cut at a character boundary.
    let value = crate::account::names::truncate_at_char_boundary(value.to_owned(), 0xFFFF);
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

/// An operator after a presence byte (0 none, 1 one).
fn optional_operator(out: &mut Vec<u8>, operator: Option<&Operator>) {
    match operator {
        None => out.push(0),
        Some(operator) => {
            out.push(1);
            text(out, operator.as_str());
        }
    }
}

fn encode_kind(out: &mut Vec<u8>, kind: &AuditKind) {
    match kind {
        AuditKind::EnrollmentStarted {
            expires_at,
            replaced_pending,
        } => {
            out.push(tag::ENROLLMENT_STARTED);
            out.extend_from_slice(&expires_at.to_be_bytes());
            out.push(u8::from(*replaced_pending));
        }
        AuditKind::StepUpRefused => out.push(tag::STEP_UP_REFUSED),
        AuditKind::EnrollmentConfirmed { step } => {
            out.push(tag::ENROLLMENT_CONFIRMED);
            out.extend_from_slice(&step.to_be_bytes());
        }
        AuditKind::EnrollmentExpired => out.push(tag::ENROLLMENT_EXPIRED),
        AuditKind::LoginAccepted {
            step,
            drift,
            authenticator,
        } => {
            out.push(tag::LOGIN_ACCEPTED);
            out.extend_from_slice(&step.to_be_bytes());
            out.extend_from_slice(&drift.to_be_bytes());
            out.push(*authenticator);
        }
        AuditKind::AuthenticatorAdded { id, name } => {
            out.extend_from_slice(&[tag::AUTHENTICATOR_ADDED, *id]);
            text(out, name);
        }
        AuditKind::AuthenticatorConfirmed { id } => {
            out.extend_from_slice(&[tag::AUTHENTICATOR_CONFIRMED, *id]);
        }
        AuditKind::AuthenticatorRemoved { id, operator } => {
            out.extend_from_slice(&[tag::AUTHENTICATOR_REMOVED, *id]);
            optional_operator(out, operator.as_ref());
        }
        AuditKind::Refused {
            operation,
            refusal,
            failures,
        } => {
            out.push(tag::REFUSED);
            out.push(operation_tag(*operation));
            encode_refusal(out, refusal);
            out.extend_from_slice(&failures.to_be_bytes());
        }
        AuditKind::Locked { failures } => {
            out.push(tag::LOCKED);
            out.extend_from_slice(&failures.to_be_bytes());
        }
        AuditKind::Redisplayed => out.push(tag::REDISPLAYED),
        AuditKind::EnrollmentShownAgain { expires_at } => {
            out.push(tag::ENROLLMENT_SHOWN_AGAIN);
            out.extend_from_slice(&expires_at.to_be_bytes());
        }
        AuditKind::RedisplayDisabled => out.push(tag::REDISPLAY_DISABLED),
        AuditKind::Stopped => out.push(tag::STOPPED),
        AuditKind::RecoveryCodesIssued { count, discarded } => {
            out.extend_from_slice(&[tag::RECOVERY_CODES_ISSUED, *count, *discarded]);
        }
        AuditKind::RecoveryCodeUsed {
            remaining,
            operation,
        } => {
            out.extend_from_slice(&[
                tag::RECOVERY_CODE_USED,
                *remaining,
                operation_tag(*operation),
            ]);
        }
        AuditKind::RecoveryCodesLow { remaining } => {
            out.extend_from_slice(&[tag::RECOVERY_CODES_LOW, *remaining]);
        }
        AuditKind::Resynced { drift, operator } => {
            out.push(tag::RESYNCED);
            out.extend_from_slice(&drift.to_be_bytes());
            optional_operator(out, operator.as_ref());
        }
        AuditKind::Diagnosed {
            operator,
            offset,
            failures,
        } => {
            out.push(tag::DIAGNOSED);
            text(out, operator.as_str());
            match offset {
                None => out.push(0),
                Some(offset) => {
                    out.push(1);
                    out.extend_from_slice(&offset.to_be_bytes());
                }
            }
            out.extend_from_slice(&failures.to_be_bytes());
        }
        AuditKind::Unlocked { operator, reason } => {
            out.push(tag::UNLOCKED);
            text(out, operator.as_str());
            text(out, reason);
        }
        AuditKind::AdministrativelyReset { operator, reason } => {
            out.push(tag::ADMINISTRATIVELY_RESET);
            text(out, operator.as_str());
            text(out, reason);
        }
        AuditKind::Forgotten { operator, reason } => {
            out.push(tag::FORGOTTEN);
            text(out, operator.as_str());
            text(out, reason);
        }
    }
}

fn decode_kind(reader: &mut Reader<'_>) -> Result<AuditKind, AuditDecodeError> {
    Ok(match reader.u8()? {
        tag::ENROLLMENT_STARTED => AuditKind::EnrollmentStarted {
            expires_at: reader.u64()?,
            replaced_pending: reader.bool("replaced_pending")?,
        },
        tag::STEP_UP_REFUSED => AuditKind::StepUpRefused,
        tag::ENROLLMENT_CONFIRMED => AuditKind::EnrollmentConfirmed {
            step: reader.u64()?,
        },
        tag::ENROLLMENT_EXPIRED => AuditKind::EnrollmentExpired,
        tag::LOGIN_ACCEPTED => AuditKind::LoginAccepted {
            step: reader.u64()?,
            drift: i8::from_be_bytes([reader.u8()?]),
            authenticator: reader.u8()?,
        },
        tag::AUTHENTICATOR_ADDED => AuditKind::AuthenticatorAdded {
            id: reader.u8()?,
            name: reader.authenticator_name()?,
        },
        tag::AUTHENTICATOR_CONFIRMED => AuditKind::AuthenticatorConfirmed { id: reader.u8()? },
        tag::AUTHENTICATOR_REMOVED => AuditKind::AuthenticatorRemoved {
            id: reader.u8()?,
            operator: reader.optional_operator()?,
        },
        tag::REFUSED => AuditKind::Refused {
            operation: decode_operation(reader.u8()?)?,
            refusal: decode_refusal(reader)?,
            failures: reader.u32()?,
        },
        tag::LOCKED => AuditKind::Locked {
            failures: reader.u32()?,
        },
        tag::REDISPLAYED => AuditKind::Redisplayed,
        tag::ENROLLMENT_SHOWN_AGAIN => AuditKind::EnrollmentShownAgain {
            expires_at: reader.u64()?,
        },
        tag::REDISPLAY_DISABLED => AuditKind::RedisplayDisabled,
        tag::STOPPED => AuditKind::Stopped,
        tag::RECOVERY_CODES_ISSUED => AuditKind::RecoveryCodesIssued {
            count: reader.u8()?,
            discarded: reader.u8()?,
        },
        tag::RECOVERY_CODE_USED => AuditKind::RecoveryCodeUsed {
            remaining: reader.u8()?,
            operation: decode_operation(reader.u8()?)?,
        },
        tag::RECOVERY_CODES_LOW => AuditKind::RecoveryCodesLow {
            remaining: reader.u8()?,
        },
        tag::RESYNCED => AuditKind::Resynced {
            drift: i32::from_be_bytes(reader.array()?),
            operator: reader.optional_operator()?,
        },
        tag::DIAGNOSED => AuditKind::Diagnosed {
            operator: reader.operator()?,
            offset: match reader.u8()? {
                0 => None,
                1 => Some(i64::from_be_bytes(reader.array()?)),
                _ => return Err(AuditDecodeError::InvalidField("offset")),
            },
            failures: reader.u32()?,
        },
        tag::UNLOCKED => {
            let (operator, reason) = reader.operator_and_reason()?;
            AuditKind::Unlocked { operator, reason }
        }
        tag::ADMINISTRATIVELY_RESET => {
            let (operator, reason) = reader.operator_and_reason()?;
            AuditKind::AdministrativelyReset { operator, reason }
        }
        tag::FORGOTTEN => {
            let (operator, reason) = reader.operator_and_reason()?;
            AuditKind::Forgotten { operator, reason }
        }
        _ => return Err(AuditDecodeError::InvalidField("kind")),
    })
}

fn operation_tag(operation: Operation) -> u8 {
    match operation {
        Operation::Begin => 1,
        Operation::Confirm => 2,
        Operation::Login => 3,
        Operation::Redisplay => 4,
        Operation::Stop => 5,
        Operation::RecoveryLogin => 6,
        Operation::IssueRecoveryCodes => 7,
        Operation::Resync => 8,
        Operation::Diagnose => 9,
        Operation::AddAuthenticator => 10,
        Operation::ConfirmAuthenticator => 11,
        Operation::RemoveAuthenticator => 12,
    }
}

fn decode_operation(tag: u8) -> Result<Operation, AuditDecodeError> {
    Ok(match tag {
        1 => Operation::Begin,
        2 => Operation::Confirm,
        3 => Operation::Login,
        4 => Operation::Redisplay,
        5 => Operation::Stop,
        6 => Operation::RecoveryLogin,
        7 => Operation::IssueRecoveryCodes,
        8 => Operation::Resync,
        9 => Operation::Diagnose,
        10 => Operation::AddAuthenticator,
        11 => Operation::ConfirmAuthenticator,
        12 => Operation::RemoveAuthenticator,
        _ => return Err(AuditDecodeError::InvalidField("operation")),
    })
}

/// A refusal: a tag, then its fields (a malformed code's reason: a tag and positions).
fn encode_refusal(out: &mut Vec<u8>, refusal: &Refusal) {
    match refusal {
        Refusal::Malformed(error) => {
            out.push(1);
            let (tag, first, second) = match *error {
                CodeError::Empty => (1, 0, 0),
                CodeError::InputTooLong => (2, 0, 0),
                CodeError::InvalidCharacter { position } => (3, position, 0),
                CodeError::MisplacedSeparator { position } => (4, position, 0),
                CodeError::WrongLength { expected, found } => (5, usize::from(expected), found),
            };
            out.push(tag);
            for value in [first, second] {
                out.extend_from_slice(&u64::try_from(value).unwrap_or(u64::MAX).to_be_bytes());
            }
        }
        Refusal::WrongCode => out.push(2),
        Refusal::Replayed => out.push(3),
        Refusal::Throttled { until } => {
            out.push(4);
            out.extend_from_slice(&until.to_be_bytes());
        }
        Refusal::Locked => out.push(5),
        Refusal::WrongCodeThrottled { until } => {
            out.push(7);
            out.extend_from_slice(&until.to_be_bytes());
        }
        Refusal::WrongCodeLocked => out.push(8),
        Refusal::MalformedRecoveryCode(error) => {
            out.push(6);
            let (tag, first, second) = match *error {
                RecoveryCodeError::Empty => (1, 0, 0),
                RecoveryCodeError::InputTooLong => (2, 0, 0),
                RecoveryCodeError::InvalidCharacter { position } => (3, position, 0),
                RecoveryCodeError::MisplacedSeparator { position } => (4, position, 0),
                RecoveryCodeError::WrongLength { expected, found } => (5, expected, found),
                // Errors of generation, never of parsing: not a refusal's reason.
                _ => (0, 0, 0),
            };
            out.push(tag);
            for value in [first, second] {
                out.extend_from_slice(&u64::try_from(value).unwrap_or(u64::MAX).to_be_bytes());
            }
        }
    }
}

fn decode_refusal(reader: &mut Reader<'_>) -> Result<Refusal, AuditDecodeError> {
    Ok(match reader.u8()? {
        1 => {
            let tag = reader.u8()?;
            let first = reader.usize()?;
            let second = reader.usize()?;
            // Fields a reason does not have must be zero: one event, one byte form.
            let unused = |used: bool, value: usize| used || value == 0;
            let malformed = match tag {
                1 => Some(CodeError::Empty),
                2 => Some(CodeError::InputTooLong),
                3 => Some(CodeError::InvalidCharacter { position: first }),
                4 => Some(CodeError::MisplacedSeparator { position: first }),
                5 => u8::try_from(first)
                    .ok()
                    .map(|expected| CodeError::WrongLength {
                        expected,
                        found: second,
                    }),
                _ => None,
            }
            .filter(|_| unused(matches!(tag, 3..=5), first) && unused(tag == 5, second))
            .ok_or(AuditDecodeError::InvalidField("refusal"))?;
            Refusal::Malformed(malformed)
        }
        2 => Refusal::WrongCode,
        3 => Refusal::Replayed,
        4 => Refusal::Throttled {
            until: reader.u64()?,
        },
        5 => Refusal::Locked,
        6 => {
            let tag = reader.u8()?;
            let first = reader.usize()?;
            let second = reader.usize()?;
            let unused = |used: bool, value: usize| used || value == 0;
            let malformed = match tag {
                1 => Some(RecoveryCodeError::Empty),
                2 => Some(RecoveryCodeError::InputTooLong),
                3 => Some(RecoveryCodeError::InvalidCharacter { position: first }),
                4 => Some(RecoveryCodeError::MisplacedSeparator { position: first }),
                5 => Some(RecoveryCodeError::WrongLength {
                    expected: first,
                    found: second,
                }),
                _ => None,
            }
            .filter(|_| unused(matches!(tag, 3..=5), first) && unused(tag == 5, second))
            .ok_or(AuditDecodeError::InvalidField("refusal"))?;
            Refusal::MalformedRecoveryCode(malformed)
        }
        7 => Refusal::WrongCodeThrottled {
            until: reader.u64()?,
        },
        8 => Refusal::WrongCodeLocked,
        _ => return Err(AuditDecodeError::InvalidField("refusal")),
    })
}

/// The unread rest of an event's bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AuditDecodeError> {
        let (head, rest) = self
            .0
            .split_at_checked(n)
            .ok_or(AuditDecodeError::Truncated)?;
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], AuditDecodeError> {
        self.take(N)?
            .try_into()
            .map_err(|_| AuditDecodeError::Truncated)
    }

    fn u8(&mut self) -> Result<u8, AuditDecodeError> {
        self.array::<1>().map(|[b]| b)
    }

    fn bool(&mut self, field: &'static str) -> Result<bool, AuditDecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(AuditDecodeError::InvalidField(field)),
        }
    }

    fn u32(&mut self) -> Result<u32, AuditDecodeError> {
        self.array().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Result<u64, AuditDecodeError> {
        self.array().map(u64::from_be_bytes)
    }

    fn usize(&mut self) -> Result<usize, AuditDecodeError> {
        usize::try_from(self.u64()?).map_err(|_| AuditDecodeError::InvalidField("refusal"))
    }

    fn text(&mut self) -> Result<&'a str, AuditDecodeError> {
        let len = usize::from(u16::from_be_bytes(self.array()?));
        core::str::from_utf8(self.take(len)?).map_err(|_| AuditDecodeError::InvalidField("text"))
    }

    /// A context value: cleaned again by `RequestContext`, but refused if it was not clean
    /// when written (an edited row).
    fn context_text(&mut self) -> Result<&'a str, AuditDecodeError> {
        let value = self.text()?;
        if value.len() > RequestContext::MAX_BYTES
            || crate::account::names::first_forbidden(value).is_some()
        {
            return Err(AuditDecodeError::InvalidField("context"));
        }
        Ok(value)
    }

    /// An operator after a presence byte (0 none, 1 one).
    fn optional_operator(&mut self) -> Result<Option<Operator>, AuditDecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.operator().map(Some),
            _ => Err(AuditDecodeError::InvalidField("operator")),
        }
    }

    /// An authenticator's name, refused unless it follows the name rules.
    fn authenticator_name(&mut self) -> Result<String, AuditDecodeError> {
        let name = self.text()?;
        crate::account::check_authenticator_name(name)
            .map_err(|_| AuditDecodeError::InvalidField("name"))?;
        Ok(name.to_owned())
    }

    fn operator(&mut self) -> Result<Operator, AuditDecodeError> {
        Operator::new(self.text()?).map_err(|_| AuditDecodeError::InvalidField("operator"))
    }

    fn operator_and_reason(&mut self) -> Result<(Operator, String), AuditDecodeError> {
        let operator = self.operator()?;
        let reason = self.text()?;
        check_reason(reason).map_err(|_| AuditDecodeError::InvalidField("reason"))?;
        Ok((operator, reason.to_owned()))
    }
}

#[cfg(test)]
mod tests;
