//! Searches far outside the login window, for a resync and for the support desk's
//! diagnosis: which step a code belongs to, or where two consecutive codes are, within
//! ±`half` steps of now.
//!
//! Every code of the searched range is computed and every comparison made (no early exit,
//! matches folded with constant-time selects), so the time depends on the range only. The
//! codes are held in a zeroizing buffer of exact size: they are valid one-time codes of
//! nearby steps.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, ConstantTimeLess};
use zeroize::Zeroizing;

use crate::otp::PreparedKey;
use crate::otp::policy::Digits;

/// The codes of the steps `first..first + codes.len()`.
pub(crate) struct WideSearch {
    first: u64,
    codes: Zeroizing<Vec<u32>>,
}

impl WideSearch {
    /// Computes the codes of every existing step within `half` steps of `now_step`, for a
    /// secret with `period`. A pair of consecutive codes lies wholly inside: its second
    /// step, which becomes the authenticator's offset, is never more than `half` away.
    pub(crate) fn new(
        key: &PreparedKey,
        digits: Digits,
        period: u32,
        now_step: u64,
        half: u64,
    ) -> Self {
        // A step exists if its first second is a representable Unix time.
        let last_step = crate::otp::steps_in(u64::MAX, period);
        let first = now_step.saturating_sub(half);
        let last = now_step.saturating_add(half).min(last_step);
        let count = usize::try_from(last.saturating_sub(first).saturating_add(1)).unwrap_or(0);
        let steps: Vec<u64> = (first..=last).collect();
        let mut codes = Zeroizing::new(vec![0u32; count]);
        key.truncated_many(&steps, codes.as_mut_slice());
        for code in codes.iter_mut() {
            *code = digits.reduce(*code);
        }
        Self { first, codes }
    }

    /// How many steps were searched.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.codes.len()
    }

    /// The step whose code is `code`, nearest to `now_step` (the earlier on a tie), if any.
    pub(crate) fn nearest(&self, code: u32, now_step: u64) -> Option<u64> {
        let mut found = Choice::from(0);
        let mut best_step = 0u64;
        let mut best_distance = u64::MAX;
        for (step, candidate) in (self.first..).zip(self.codes.iter()) {
            let distance = step.abs_diff(now_step);
            let hit = candidate.ct_eq(&code) & distance.ct_lt(&best_distance);
            best_step.conditional_assign(&step, hit);
            best_distance.conditional_assign(&distance, hit);
            found |= hit;
        }
        bool::from(found).then_some(best_step)
    }

    /// The step of `second` where `first` is the code of the step just before it and both
    /// steps are later than `floor` (the last used step), the latest such pair if several.
    pub(crate) fn consecutive(&self, first: u32, second: u32, floor: Option<u64>) -> Option<u64> {
        let mut found = Choice::from(0);
        let mut best = 0u64;
        let pairs = self.codes.iter().zip(self.codes.iter().skip(1));
        for (step, (a, b)) in (self.first..).zip(pairs) {
            let eligible = Choice::from(u8::from(floor.is_none_or(|floor| step > floor)));
            let hit = a.ct_eq(&first) & b.ct_eq(&second) & eligible;
            best.conditional_assign(&step.saturating_add(1), hit);
            found |= hit;
        }
        bool::from(found).then_some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::policy::Algorithm;
    use crate::otp::secret::Secret;

    fn key() -> PreparedKey {
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap_or_else(|_| unreachable!());
        PreparedKey::new(&secret, Algorithm::Sha1)
    }

    fn code(step: u64) -> u32 {
        Digits::SIX.reduce(key().truncated(step))
    }

    #[test]
    fn finds_the_step_of_a_code_far_from_now() {
        let search = WideSearch::new(&key(), Digits::SIX, 30, 1_000_000, 2880);
        assert_eq!(search.len(), 2 * 2880 + 1);
        assert_eq!(
            search.nearest(code(1_000_000 - 2000), 1_000_000),
            Some(998_000)
        );
        assert_eq!(search.nearest(code(1_002_880), 1_000_000), Some(1_002_880));
        // Outside the range: not found (unless another step shares the code).
        let outside = code(1_010_000);
        let found = search.nearest(outside, 1_000_000);
        assert!(found.is_none_or(|step| code(step) == outside));
    }

    #[test]
    fn finds_two_consecutive_codes_and_refuses_a_gap_or_a_used_step() {
        let search = WideSearch::new(&key(), Digits::SIX, 30, 1_000_000, 2880);
        let (a, b) = (code(1_000_100), code(1_000_101));
        assert_eq!(search.consecutive(a, b, None), Some(1_000_101));
        assert_eq!(search.consecutive(a, b, Some(1_000_099)), Some(1_000_101));
        assert_eq!(search.consecutive(a, b, Some(1_000_100)), None);
        assert_eq!(search.consecutive(a, code(1_000_102), None), None);
        assert_eq!(search.consecutive(b, a, None), None);
    }

    #[test]
    fn a_pair_lies_wholly_within_the_searched_range() {
        let search = WideSearch::new(&key(), Digits::SIX, 30, 1_000_000, 20);
        let (a, b) = (code(1_000_019), code(1_000_020));
        assert_eq!(search.consecutive(a, b, None), Some(1_000_020));
        // One step further would set an offset of 21 steps with a window of 20.
        let (a, b) = (code(1_000_020), code(1_000_021));
        assert!(
            search
                .consecutive(a, b, None)
                .is_none_or(|s| s <= 1_000_020)
        );
    }

    #[test]
    fn the_range_stops_at_the_first_and_the_last_step() {
        let search = WideSearch::new(&key(), Digits::SIX, 30, 3, 10);
        assert_eq!(search.len(), 3 + 10 + 1);
        assert_eq!(search.nearest(code(0), 3), Some(0));
        let last = u64::MAX / 30;
        let search = WideSearch::new(&key(), Digits::SIX, 30, last, 10);
        assert_eq!(search.len(), 11);
    }
}
