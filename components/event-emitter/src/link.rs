//! The relay's Redis connection, kept by the instance between passes.
//!
//! Spin makes a new connection for every guest `open` (`factor-outbound-redis`, `open`: a TCP
//! connect and the client's handshake), so a pass that opened its own would pay that each
//! time. A reused instance keeps the connection its first pass opened. It is forgotten after
//! any failed command or refused event: a connection Redis closed (a restart) stays closed,
//! and one pinned to a server that now refuses writes (a demoted primary answers `READONLY`)
//! should not be used again; the next pass opens a new one. A pass whose `EVAL` fails on a
//! *kept* connection that stops answering retries once on a new one ([`crate::relay`]).

use std::cell::RefCell;
use std::rc::Rc;

use spin_sdk::redis::Connection;

thread_local! {
    /// This instance's kept connection. The address is read once per instance
    /// (`RelayConfig::load`), so it cannot change under a kept one.
    static KEPT: RefCell<Option<Rc<Connection>>> = const { RefCell::new(None) };
}

/// The instance's connection and whether it was kept from an earlier pass (`false`: opened
/// now, and kept from now on). `Err`: `open` failed (the URL is never in the text).
pub(crate) async fn connection(address: &str) -> Result<(Rc<Connection>, bool), String> {
    if let Some(kept) = KEPT.with_borrow(Clone::clone) {
        return Ok((kept, true));
    }
    let opened = Rc::new(open(address).await?);
    KEPT.set(Some(opened.clone()));
    Ok((opened, false))
}

/// Forgets `connection` if it is the one kept (another pass may have replaced it already:
/// that one stays).
pub(crate) fn forget(connection: &Rc<Connection>) {
    KEPT.with_borrow_mut(|kept| {
        if kept.as_ref().is_some_and(|k| Rc::ptr_eq(k, connection)) {
            *kept = None;
        }
    });
}

/// Opens Redis (a host may connect lazily: an unreachable Redis then shows at the first
/// command). The URL stays out of error texts (it may hold a password), even where the host's
/// own message quotes it.
async fn open(address: &str) -> Result<Connection, String> {
    Connection::open(address)
        .await
        .map_err(|error| format!("cannot open redis_url: {}", redact(error, address)))
}

/// Whether Redis answers a `PING`: asked only after a command failed, to tell an outage
/// (nothing answers: every row waits) from a refusal of that one row (it counts an attempt
/// towards dead-lettering). A healthy pass sends no `PING`.
pub(crate) async fn reachable(redis: &Connection, address: &str) -> Result<(), String> {
    redis
        .execute("PING", [])
        .await
        .map(drop)
        .map_err(|error| format!("redis_url does not answer: {}", redact(error, address)))
}

/// `error` as text, with the Redis URL (which may hold a password) taken out.
fn redact(error: spin_sdk::redis::Error, address: &str) -> String {
    format!("{error:?}").replace(address, "<redis_url>")
}
