//! The breaker's state machine as a serialisable record, and the pure steps of the claim
//! protocol (the I/O around them is in [`super::Breaker`]).
//!
//! ```text
//!            error rate ≥ threshold            reset timeout elapsed,
//!   Closed ───(volume reached)──────▶ Open ───probe slot claimed──────▶ HalfOpen
//!     ▲                                ▲                                   │
//!     │                                └──────── probe failed ─────────────┤
//!     └─────────────────────────────── probe succeeded ────────────────────┘
//! ```

use serde::{Deserialize, Serialize};

use super::config::BreakerConfig;

/// Where a breaker is in its cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls flow; outcomes are counted.
    #[default]
    Closed,
    /// Calls are refused without trying until the reset timeout has elapsed.
    Open,
    /// A bounded number of probes are let through; the first outcome decides.
    HalfOpen,
}

impl BreakerState {
    /// `closed`, `open` or `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// A probe slot held by one caller until it reports or the lease runs out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeLease {
    /// The claimer's token.
    pub token: String,
    /// When the slot frees itself (epoch ms).
    pub expires_at_ms: i64,
}

/// How often each transition happened (counted by the writer that won it, so once each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TransitionCounts {
    /// Closed → open and half-open → open.
    pub opened: u64,
    /// Open → half-open.
    pub half_opened: u64,
    /// Half-open → closed.
    pub closed: u64,
}

/// The shared state of one breaker. Absent means closed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StateRecord {
    /// The state.
    pub state: BreakerState,
    /// Incremented by every write; for operators and tests.
    pub version: u64,
    /// The window generation: incremented every time the breaker closes, which starts a
    /// fresh window. A [`RollingWindow`](super::RollingWindow) stamped with another
    /// generation is a stale write-back and counts as empty. Absent in old records: 0.
    pub generation: u64,
    /// Tokens of the last few writers, newest last. A write based on an older read does
    /// not carry the newer tokens, which is how a writer detects it was overwritten.
    pub lineage: Vec<String>,
    /// When the state last changed (epoch ms).
    pub changed_at_ms: i64,
    /// When the breaker last opened (epoch ms).
    pub opened_at_ms: Option<i64>,
    /// Probe slots taken in half-open.
    pub probes: Vec<ProbeLease>,
    /// Transition counters.
    pub transitions: TransitionCounts,
}

/// Writer tokens kept in [`StateRecord::lineage`]: enough to survive the few writes that
/// can land within one settle delay.
const LINEAGE: usize = 4;

/// What a caller may do, judged from a state record it just read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdmissionPlan {
    /// Closed: call.
    Pass,
    /// Open, or half-open with every probe slot taken: do not call.
    Refuse,
    /// Open past its reset timeout, or half-open with a free slot: try to claim a probe.
    ClaimProbe,
}

impl StateRecord {
    /// What a caller may do at `now`.
    pub fn plan(&self, now_ms: i64, config: &BreakerConfig) -> AdmissionPlan {
        match self.state {
            BreakerState::Closed => AdmissionPlan::Pass,
            BreakerState::Open if !self.reset_elapsed(now_ms, config) => AdmissionPlan::Refuse,
            BreakerState::Open => AdmissionPlan::ClaimProbe,
            BreakerState::HalfOpen if self.free_probe_slots(now_ms, config) > 0 => {
                AdmissionPlan::ClaimProbe
            }
            BreakerState::HalfOpen => AdmissionPlan::Refuse,
        }
    }

    /// Whether an open breaker has waited its reset timeout.
    pub fn reset_elapsed(&self, now_ms: i64, config: &BreakerConfig) -> bool {
        let opened = self.opened_at_ms.unwrap_or(self.changed_at_ms);
        now_ms.saturating_sub(opened) >= config.reset_timeout_ms as i64
    }

    /// Probe slots not held by an unexpired lease.
    pub fn free_probe_slots(&self, now_ms: i64, config: &BreakerConfig) -> u32 {
        let held = self.live_probes(now_ms).count() as u32;
        config.half_open_max_probes.max(1).saturating_sub(held)
    }

    fn live_probes(&self, now_ms: i64) -> impl Iterator<Item = &ProbeLease> {
        self.probes.iter().filter(move |p| p.expires_at_ms > now_ms)
    }

    /// The record to write to claim a probe slot, or `None` when no slot is free. Claiming
    /// the first slot of an open breaker is the open → half-open transition.
    pub fn claim_probe(&self, now_ms: i64, config: &BreakerConfig, token: &str) -> Option<Self> {
        if self.plan(now_ms, config) != AdmissionPlan::ClaimProbe {
            return None;
        }
        let mut next = if self.state == BreakerState::Open {
            let mut next = self.moved_to(BreakerState::HalfOpen, now_ms, token);
            next.transitions.half_opened += 1;
            next
        } else {
            self.written_by(token)
        };
        next.probes.retain(|p| p.expires_at_ms > now_ms);
        next.probes.push(ProbeLease {
            token: token.to_owned(),
            expires_at_ms: now_ms + config.probe_lease_ms as i64,
        });
        Some(next)
    }

    /// Whether `token` holds a probe slot in this (re-read) record.
    pub fn holds_probe(&self, token: &str) -> bool {
        self.state == BreakerState::HalfOpen && self.probes.iter().any(|p| p.token == token)
    }

    /// Whether this (re-read) record is, or is based on, the write made with `token`.
    pub fn descends_from(&self, token: &str) -> bool {
        self.lineage.iter().any(|t| t == token)
    }

    /// The record for a closed → open trip.
    pub fn tripped(&self, now_ms: i64, token: &str) -> Self {
        let mut next = self.moved_to(BreakerState::Open, now_ms, token);
        next.opened_at_ms = Some(now_ms);
        next.transitions.opened += 1;
        next
    }

    /// The record after a half-open probe: closed (in a new window generation) when it
    /// succeeded, open again when not.
    pub fn after_probe(&self, succeeded: bool, now_ms: i64, token: &str) -> Self {
        if succeeded {
            let mut next = self.moved_to(BreakerState::Closed, now_ms, token);
            next.transitions.closed += 1;
            next.generation += 1;
            next
        } else {
            self.tripped(now_ms, token)
        }
    }

    /// A copy written by `token`: version bumped, token appended to the lineage.
    fn written_by(&self, token: &str) -> Self {
        let mut next = self.clone();
        next.version += 1;
        next.lineage.push(token.to_owned());
        let excess = next.lineage.len().saturating_sub(LINEAGE);
        next.lineage.drain(..excess);
        next
    }

    fn moved_to(&self, state: BreakerState, now_ms: i64, token: &str) -> Self {
        let mut next = self.written_by(token);
        next.state = state;
        next.changed_at_ms = now_ms;
        next.probes.clear();
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BreakerConfig {
        BreakerConfig {
            reset_timeout_ms: 1_000,
            probe_lease_ms: 100,
            half_open_max_probes: 1,
            ..BreakerConfig::default()
        }
    }

    fn open_at(ms: i64) -> StateRecord {
        StateRecord {
            state: BreakerState::Open,
            opened_at_ms: Some(ms),
            changed_at_ms: ms,
            ..StateRecord::default()
        }
    }

    #[test]
    fn plans_follow_the_state_and_the_clock() {
        let config = config();
        assert_eq!(StateRecord::default().plan(0, &config), AdmissionPlan::Pass);
        assert_eq!(open_at(0).plan(999, &config), AdmissionPlan::Refuse);
        assert_eq!(open_at(0).plan(1_000, &config), AdmissionPlan::ClaimProbe);
        let half_open = open_at(0).claim_probe(1_000, &config, "a").unwrap();
        assert_eq!(half_open.plan(1_050, &config), AdmissionPlan::Refuse);
        assert_eq!(
            half_open.plan(1_100, &config),
            AdmissionPlan::ClaimProbe,
            "lease expired"
        );
    }

    #[test]
    fn an_overwritten_claim_is_detected_by_its_missing_token() {
        let config = config();
        let read = open_at(0);
        let mine = read.claim_probe(1_000, &config, "mine").unwrap();
        let theirs = read.claim_probe(1_000, &config, "theirs").unwrap();
        assert!(mine.holds_probe("mine") && mine.descends_from("mine"));
        assert!(!theirs.holds_probe("mine") && !theirs.descends_from("mine"));
        // A write based on mine keeps my token in its lineage.
        let later = mine.after_probe(true, 1_010, "closer");
        assert!(later.descends_from("mine") && later.descends_from("closer"));
    }

    #[test]
    fn lineage_is_bounded() {
        let mut record = StateRecord::default();
        for i in 0..10 {
            record = record.tripped(i, &format!("t{i}"));
        }
        assert_eq!(record.lineage, ["t6", "t7", "t8", "t9"]);
        assert_eq!(record.version, 10);
    }

    #[test]
    fn only_closing_starts_a_new_window_generation() {
        let config = config();
        let open = StateRecord::default().tripped(0, "t");
        assert_eq!(open.generation, 0);
        let half_open = open.claim_probe(1_000, &config, "p").unwrap();
        assert_eq!(half_open.generation, 0);
        assert_eq!(half_open.after_probe(false, 1_010, "f").generation, 0);
        let closed = half_open.after_probe(true, 1_010, "c");
        assert_eq!((closed.state, closed.generation), (BreakerState::Closed, 1));
        let reopened = closed.tripped(2_000, "t2");
        assert_eq!(
            reopened.generation, 1,
            "opening keeps the window as evidence"
        );
    }
}
