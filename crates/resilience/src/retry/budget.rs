//! The overall time budget of one logical call (`retry_budget_ms`): attempts and the
//! waits between them together may not exceed it.

/// A deadline measured from the first attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    started_at_ms: i64,
    budget_ms: u64,
}

impl Budget {
    /// A budget of `budget_ms` starting at `now_ms`.
    pub fn start(now_ms: i64, budget_ms: u64) -> Self {
        Self {
            started_at_ms: now_ms,
            budget_ms,
        }
    }

    /// Milliseconds left at `now_ms` (0 once spent).
    pub fn remaining_ms(&self, now_ms: i64) -> u64 {
        let spent = now_ms.saturating_sub(self.started_at_ms).max(0) as u64;
        self.budget_ms.saturating_sub(spent)
    }

    /// Whether nothing is left.
    pub fn is_exhausted(&self, now_ms: i64) -> bool {
        self.remaining_ms(now_ms) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_counts_down_and_never_goes_negative() {
        let budget = Budget::start(10_000, 5_000);
        assert_eq!(budget.remaining_ms(10_000), 5_000);
        assert_eq!(budget.remaining_ms(13_000), 2_000);
        assert!(!budget.is_exhausted(14_999));
        assert!(budget.is_exhausted(15_000));
        assert_eq!(budget.remaining_ms(99_000), 0);
        // A clock that stepped back does not grant extra time.
        assert_eq!(budget.remaining_ms(9_000), 5_000);
    }
}
