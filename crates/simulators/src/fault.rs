//! Fault injection: what a simulator does to a call instead of (or before) answering it.
//!
//! Every decision is deterministic so tests never flake: an error rate fails calls by a
//! counter, not by chance, and a "fail the next N calls" script is consumed in order.

use std::collections::VecDeque;
use std::time::Duration;

use crate::http::Reply;

/// A fault a simulator injects into the calls it receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a problem+json body, e.g. `Status(503)`.
    Status(u16),
    /// Answer with this status and a `Retry-After: <seconds>` header, e.g. 429 or 503.
    StatusRetryAfter {
        /// The status to answer with.
        status: u16,
        /// The `Retry-After` value in seconds.
        retry_after_s: u64,
    },
    /// Fail `percent` % of calls with `status`, evenly and deterministically: call *k*
    /// (counted from 1 since the fault was set) fails when `⌊k·p/100⌋ > ⌊(k−1)·p/100⌋`,
    /// so exactly `p` of every 100 consecutive calls fail (50 % alternates ok, fail, ok, …).
    ErrorRate {
        /// Share of calls that fail, 0–100.
        percent: u8,
        /// The status failing calls get.
        status: u16,
    },
    /// Wait this long, then answer normally (a caller that gives up first gets nothing done).
    Latency(Duration),
    /// Do the work at once, then wait this long before answering: a caller that gives up
    /// first loses the answer of a call that took effect (a charge made, a timeout seen).
    SlowAnswer(Duration),
    /// Read the request and never answer (until the simulators shut down).
    Hang,
    /// Read the request and close the connection without an answer (TCP reset).
    Reset,
}

/// What the server does with one call.
#[derive(Debug)]
pub(crate) enum Action {
    /// Answer normally.
    Proceed,
    /// Sleep, then answer normally.
    Delay(Duration),
    /// Answer normally, but only after sleeping.
    DelayAnswer(Duration),
    /// Answer with this instead of calling the handler.
    Respond(Reply),
    /// Never answer.
    Hang,
    /// Drop the connection with a reset.
    Reset,
}

/// The faults configured on one simulator: a standing fault and a script of "next N calls".
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    standing: Option<Fault>,
    script: VecDeque<(u32, Fault)>,
    /// Calls seen by the current error-rate fault (standing or scripted).
    rate_calls: u64,
}

impl FaultPlan {
    /// Replaces the standing fault (every call from now on).
    pub(crate) fn set(&mut self, fault: Fault) {
        self.standing = Some(fault);
        self.rate_calls = 0;
    }

    /// Appends "the next `calls` calls get `fault`" to the script; the standing fault
    /// applies again once the script is used up.
    pub(crate) fn push(&mut self, calls: u32, fault: Fault) {
        if calls > 0 {
            self.script.push_back((calls, fault));
        }
    }

    /// Removes every fault.
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }

    /// Decides what happens to the next call.
    pub(crate) fn next_action(&mut self) -> Action {
        let fault = match self.script.front_mut() {
            Some((remaining, fault)) => {
                let fault = fault.clone();
                *remaining -= 1;
                if *remaining == 0 {
                    self.script.pop_front();
                    self.rate_calls = 0;
                }
                fault
            }
            None => match &self.standing {
                Some(fault) => fault.clone(),
                None => return Action::Proceed,
            },
        };
        self.act(&fault)
    }

    fn act(&mut self, fault: &Fault) -> Action {
        match *fault {
            Fault::Status(status) => Action::Respond(injected(status)),
            Fault::StatusRetryAfter {
                status,
                retry_after_s,
            } => Action::Respond(
                injected(status).with_header("retry-after", retry_after_s.to_string()),
            ),
            Fault::ErrorRate { percent, status } => {
                let p = u64::from(percent.min(100));
                self.rate_calls += 1;
                let k = self.rate_calls;
                if k * p / 100 > (k - 1) * p / 100 {
                    Action::Respond(injected(status))
                } else {
                    Action::Proceed
                }
            }
            Fault::Latency(delay) => Action::Delay(delay),
            Fault::SlowAnswer(delay) => Action::DelayAnswer(delay),
            Fault::Hang => Action::Hang,
            Fault::Reset => Action::Reset,
        }
    }
}

fn injected(status: u16) -> Reply {
    Reply::problem(
        status,
        "Injected fault",
        &format!("the simulator was told to answer {status}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(action: &Action) -> bool {
        !matches!(action, Action::Proceed)
    }

    #[test]
    fn error_rate_of_50_percent_alternates_starting_with_success() {
        let mut plan = FaultPlan::default();
        plan.set(Fault::ErrorRate {
            percent: 50,
            status: 503,
        });
        let pattern: Vec<bool> = (0..6).map(|_| failed(&plan.next_action())).collect();
        assert_eq!(pattern, [false, true, false, true, false, true]);
    }

    #[test]
    fn error_rate_fails_exactly_p_of_every_100_calls() {
        for percent in [0u8, 1, 10, 33, 50, 99, 100] {
            let mut plan = FaultPlan::default();
            plan.set(Fault::ErrorRate {
                percent,
                status: 500,
            });
            let failures = (0..100).filter(|_| failed(&plan.next_action())).count();
            assert_eq!(failures, usize::from(percent), "percent {percent}");
        }
    }

    #[test]
    fn scripted_faults_run_in_order_then_the_standing_fault_returns() {
        let mut plan = FaultPlan::default();
        plan.push(2, Fault::Reset);
        plan.push(1, Fault::Status(503));
        assert!(matches!(plan.next_action(), Action::Reset));
        assert!(matches!(plan.next_action(), Action::Reset));
        assert!(matches!(plan.next_action(), Action::Respond(_)));
        assert!(matches!(plan.next_action(), Action::Proceed));
        plan.set(Fault::Hang);
        plan.push(1, Fault::Latency(Duration::from_millis(5)));
        assert!(matches!(plan.next_action(), Action::Delay(_)));
        assert!(matches!(plan.next_action(), Action::Hang));
    }

    #[test]
    fn push_of_zero_calls_and_clear_leave_no_fault() {
        let mut plan = FaultPlan::default();
        plan.push(0, Fault::Reset);
        assert!(matches!(plan.next_action(), Action::Proceed));
        plan.set(Fault::Status(500));
        plan.push(3, Fault::Reset);
        plan.clear();
        assert!(matches!(plan.next_action(), Action::Proceed));
    }
}
