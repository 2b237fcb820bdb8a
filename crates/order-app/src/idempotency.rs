//! `Idempotency-Key` decisions (ARCHITECTURE §4): the key is claimed in the transaction that
//! stores the order (or the refusal that ended the request), so two requests with one key can
//! never both run a saga, and a claim never exists without the order it promises. That claim is
//! also the lookup: a request does not read its key first, and one whose key is taken learns it
//! when its transaction is refused, before any side effect ([`crate::App::place_order`]).

use crate::Outcome;

/// A request's claim on its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The key as stored: the caller's subject, `:`, the header's value.
    pub key: String,
    /// Lowercase hex SHA-256 of the request's canonical body.
    pub request_hash: String,
    /// An in-flight claim without an order last touched before this instant (epoch ms) is
    /// abandoned and may be taken over.
    pub stale_before_ms: i64,
}

/// An answer kept for replays, as the HTTP edge rendered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
    /// The order it concerns, if any (for `Location`).
    pub order_id: Option<String>,
}

/// Where a key's request is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// Still running (or died; recovery finishes its order).
    InFlight,
    /// Finished with this answer.
    Done(StoredAnswer),
}

/// A stored key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Hash of the body it was first used with.
    pub request_hash: String,
    /// Its state.
    pub state: KeyState,
    /// The order its request stored, if any.
    pub order_id: Option<String>,
    /// Last touch, epoch ms.
    pub updated_at_ms: i64,
}

/// What `POST /api/v1/orders` does for a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Placed {
    /// The saga ran (or stopped early) with this answer.
    Ran(Outcome),
    /// A request with the same key and body finished: answer as it did.
    Replay(StoredAnswer),
    /// A request with the same key is still running: retry shortly.
    InFlight,
    /// The key was used with a different body.
    KeyReused,
}

/// What a key's record means for a new request with `claim`: `None` to go ahead (no record,
/// or an abandoned claim that may be taken over), else the answer.
pub(crate) fn decide(record: Option<KeyRecord>, claim: &Claim) -> Option<Placed> {
    let record = record?;
    if record.request_hash != claim.request_hash {
        return Some(Placed::KeyReused);
    }
    match record.state {
        KeyState::Done(answer) => Some(Placed::Replay(answer)),
        KeyState::InFlight
            if record.order_id.is_none() && record.updated_at_ms < claim.stale_before_ms =>
        {
            None
        }
        KeyState::InFlight => Some(Placed::InFlight),
    }
}
