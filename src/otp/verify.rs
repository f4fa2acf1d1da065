//! The verifier: a constant-time scan of the whole window with a replay floor.
//!
//! For every verification, all `behind + 1 + ahead` candidate codes are computed and each is
//! compared to the submitted code with `subtle`'s constant-time equality. Matches are folded
//! with constant-time selects in ascending step order, so the largest eligible matching step
//! wins and no comparison result steers a branch until the single final verdict.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::error::CodeError;
use crate::otp::Totp;
use crate::otp::code::Code;
use crate::otp::policy::Window;

/// A code was accepted.
///
/// Store [`Verified::step`] as the new last-used step before acting on the acceptance: a later
/// verification must pass it as `last_used_step` so that this code (and every earlier one)
/// can never be accepted again (RFC 6238 §5.2).
///
/// With the `serde` feature: `{"step": 58800001, "drift": 0, "authenticator": 1}`. A
/// deserialized `Verified` is
/// only data: no API of this crate takes one as proof of anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[must_use = "an accepted code must be recorded as used, or it can be replayed"]
pub struct Verified {
    step: u64,
    drift: i8,
    authenticator: u8,
}

impl Verified {
    /// The id of the account's authenticator whose code it was (the engine's
    /// [`Authenticator::id`](crate::lifecycle::Authenticator::id)); 0 from a bare [`Totp::verify`].
    pub fn authenticator(&self) -> u8 {
        self.authenticator
    }

    /// The time step the code belongs to.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The step relative to now: `-1` for the previous step, `0` for the current, `1` next.
    pub fn drift(&self) -> i8 {
        self.drift
    }
}

/// Why the verifier did not accept a code: the pure verdict of [`Totp::verify`] over one
/// window, before any account state. The engine reports its refusals as
/// [`Refusal`](crate::error::Refusal), which adds what only an account has (a backoff, a
/// lock, a malformed recovery code); every `Rejection` becomes the `Refusal` of the same
/// name (`From`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The input is not a code of the policy's shape.
    #[error("malformed code: {0}")]
    Malformed(#[from] CodeError),
    /// The code matches no step of the window.
    #[error("wrong code")]
    WrongCode,
    /// The code matches only steps at or before the last used one: it was already used,
    /// or an older code than one already used.
    #[error("code already used")]
    Replayed,
}

impl Totp {
    /// Verifies `code` at `unix_seconds` against every step of the window.
    ///
    /// `last_used_step` is the step of the last accepted code for this secret (`None` if
    /// none was ever accepted). Only steps strictly greater are eligible. When the digits
    /// match several eligible steps, the largest is reported.
    ///
    /// Candidate steps that do not exist (before step 0, or starting after `u64::MAX`
    /// seconds) are still computed, on a stand-in counter, and never accepted, so the work is
    /// the same for every input.
    ///
    /// ```
    /// use totp_enroll::{OtpPolicy, otp::Rejection, otp::Secret, otp::Totp};
    /// let totp = Totp::new(&Secret::generate()?, &OtpPolicy::new("Example")?);
    /// let now = 1_700_000_000;
    /// let code = totp.code_at(now);
    /// let ok = totp.verify(&code, now, None)?;
    /// assert_eq!(ok.drift(), 0);
    /// assert_eq!(totp.verify(&code, now, Some(ok.step())), Err(Rejection::Replayed));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(
        &self,
        code: &Code,
        unix_seconds: u64,
        last_used_step: Option<u64>,
    ) -> Result<Verified, Rejection> {
        if code.digits() != self.digits {
            return Err(Rejection::Malformed(CodeError::WrongLength {
                expected: self.digits.get(),
                found: usize::from(code.digits().get()),
            }));
        }
        let now_step = self.step_at(unix_seconds);
        let behind = i8::try_from(self.window.behind()).unwrap_or(i8::MAX);
        let ahead = i8::try_from(self.window.ahead()).unwrap_or(i8::MAX);
        let submitted = code.value();

        // Steps, and which of them exist and are above the floor, are public; codes are not.
        const MAX_CANDIDATES: usize = 2 * Window::MAX_STEPS as usize + 1;
        let mut drifts = [0i8; MAX_CANDIDATES];
        let mut steps = [0u64; MAX_CANDIDATES];
        let mut existing = [false; MAX_CANDIDATES];
        let mut count = 0usize;
        for ((drift, d), (step, e)) in (behind.saturating_neg()..=ahead)
            .zip(drifts.iter_mut())
            .zip(steps.iter_mut().zip(existing.iter_mut()))
        {
            // A step exists if its first second is a representable Unix time.
            let candidate_step = now_step
                .checked_add_signed(i64::from(drift))
                .filter(|step| self.step_start(*step).is_some());
            *d = drift;
            *e = candidate_step.is_some();
            *step = candidate_step.unwrap_or(now_step);
            count = count.saturating_add(1);
        }
        let mut truncated = [0u32; MAX_CANDIDATES];
        self.key.truncated_many(
            steps.get(..count).unwrap_or(&[]),
            truncated.get_mut(..count).unwrap_or(&mut []),
        );

        // Only `equal` depends on the secret: it leaves `ct_eq` as an opaque 0/1 and is
        // combined with the public eligibility bits by masking; one `Choice` per candidate
        // drives the constant-time selects.
        let mut accepted = 0u8;
        let mut replayed = 0u8;
        let mut best_step = 0u64;
        let mut best_drift = 0i8;
        for (((&drift, &step), &exists), &value) in drifts
            .iter()
            .zip(&steps)
            .zip(&existing)
            .zip(&truncated)
            .take(count)
        {
            let above_floor = last_used_step.is_none_or(|last| step > last);
            let eligible = u8::from(exists && above_floor);
            let replay_zone = u8::from(exists && !above_floor);

            let candidate = self.digits.reduce(value);
            let equal = candidate.ct_eq(&submitted).unwrap_u8();

            let hit = Choice::from(equal & eligible);
            best_step.conditional_assign(&step, hit);
            best_drift.conditional_assign(&drift, hit);
            accepted |= hit.unwrap_u8();
            replayed |= equal & replay_zone;
        }

        // The verdict itself is the one thing revealed.
        if accepted != 0 {
            Ok(Verified {
                step: best_step,
                drift: best_drift,
                authenticator: 0,
            })
        } else if replayed != 0 {
            Err(Rejection::Replayed)
        } else {
            Err(Rejection::WrongCode)
        }
    }

    /// Parses `input` with the policy's digits ([`Code::parse`]) and verifies it.
    pub fn verify_input(
        &self,
        input: &str,
        unix_seconds: u64,
        last_used_step: Option<u64>,
    ) -> Result<Verified, Rejection> {
        let code = Code::parse(input, self.digits)?;
        self.verify(&code, unix_seconds, last_used_step)
    }
}

/// One authenticator's part in [`verify_any`].
pub(crate) struct Candidate<'a> {
    /// The authenticator's id.
    pub(crate) id: u8,
    /// Its prepared key and code parameters.
    pub(crate) totp: &'a Totp,
    /// The time its window is centred on (now, shifted by its drift).
    pub(crate) centre: u64,
    /// Its replay floor.
    pub(crate) floor: Option<u64>,
}

/// Verifies `input` against every candidate (the account's authenticators): each one's
/// whole window is computed and compared, with no early exit across candidates either,
/// and the verdicts are folded with constant-time selects, so the work does not depend on
/// which one (if any) matched. The first candidate, in order, that accepts is reported,
/// with its id. Replay is per candidate: a code that only matches used steps of one is
/// [`Rejection::Replayed`] unless another accepts it. Input that is malformed for every
/// candidate's digits is [`Rejection::Malformed`].
pub(crate) fn verify_any(input: &str, candidates: &[Candidate<'_>]) -> Result<Verified, Rejection> {
    let mut accepted = Choice::from(0);
    let mut replayed = 0u8;
    let mut step = 0u64;
    let mut drift = 0i8;
    let mut id = 0u8;
    let mut malformed = None;
    let mut parsed_once = false;
    for candidate in candidates {
        let result = match Code::parse(input, candidate.totp.digits) {
            Ok(code) => {
                parsed_once = true;
                candidate
                    .totp
                    .verify(&code, candidate.centre, candidate.floor)
            }
            Err(error) => {
                malformed.get_or_insert(error);
                Err(Rejection::Malformed(error))
            }
        };
        let ok = Choice::from(u8::from(result.is_ok()));
        let verified = result.unwrap_or(Verified {
            step: 0,
            drift: 0,
            authenticator: 0,
        });
        let take = ok & !accepted;
        step.conditional_assign(&verified.step, take);
        drift.conditional_assign(&verified.drift, take);
        id.conditional_assign(&candidate.id, take);
        accepted |= ok;
        replayed |= u8::from(result == Err(Rejection::Replayed));
    }
    if bool::from(accepted) {
        Ok(Verified {
            step,
            drift,
            authenticator: id,
        })
    } else if replayed != 0 {
        Err(Rejection::Replayed)
    } else if let (false, Some(error)) = (parsed_once, malformed) {
        Err(Rejection::Malformed(error))
    } else {
        Err(Rejection::WrongCode)
    }
}

impl From<Rejection> for crate::error::Refusal {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::WrongCode => Self::WrongCode,
            Rejection::Replayed => Self::Replayed,
            Rejection::Malformed(error) => Self::Malformed(error),
        }
    }
}
