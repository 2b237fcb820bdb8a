//! Tokens this instance has verified, so a caller that sends the same token again (every
//! service-to-service client does, until it expires) does not pay for the signature check on
//! every request.
//!
//! What is skipped is only the signature check, and only for the exact bytes of a token whose
//! signature was verified against the very same key set (the parsed `Jwks` object, which is
//! replaced whenever the keys change). Everything else runs on every use: issuer, audience,
//! `exp` / `nbf` / `iat` with leeway, the 15-minute lifetime cap, the scope, and the IP
//! allowlist before it. Entries live in instance memory only, at most [`KEPT`] of them, and a
//! token is never written anywhere.
//!
//! An entry holds the SHA-256 of the token, not the token, and a presented token is found by
//! its digest: comparing the presented bytes with a kept token would let response timing tell
//! how much of a valid token an attacker has guessed (secrets meet input only in comparisons
//! whose timing tells nothing); the timing of a digest comparison says nothing about the token.

use std::cell::RefCell;
use std::rc::Rc;

use auth::{AuthError, Claims, Jwks, Validator};
use sha2::{Digest, Sha256};

use super::Scope;

/// How many verified tokens an instance keeps.
const KEPT: usize = 32;

/// A verified token: the SHA-256 of the `Authorization` value, the key set it was verified
/// with, its claims.
struct Entry {
    digest: [u8; 32],
    jwks: Rc<Jwks>,
    claims: Claims,
}

thread_local! {
    static VERIFIED: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// For a token verified earlier against `jwks`: its claims re-checked at `now` for `scope`.
/// `None` when this token was not verified against this key set (verify it in full).
pub(super) fn recheck(
    authorization: Option<&str>,
    jwks: &Rc<Jwks>,
    validator: &Validator,
    now: i64,
    scope: Scope,
) -> Option<Result<Claims, AuthError>> {
    let digest = digest(authorization?);
    VERIFIED.with_borrow(|entries| {
        let entry = entries
            .iter()
            .find(|e| e.digest == digest && Rc::ptr_eq(&e.jwks, jwks))?;
        Some(
            validator
                .recheck(&entry.claims, now, scope.as_str())
                .map(|()| entry.claims.clone()),
        )
    })
}

/// Remembers a token whose signature and claims were just verified against `jwks`.
pub(super) fn remember(authorization: Option<&str>, jwks: &Rc<Jwks>, claims: &Claims) {
    let Some(authorization) = authorization else {
        return;
    };
    let digest = digest(authorization);
    VERIFIED.with_borrow_mut(|entries| {
        // Entries of replaced key sets can never match again.
        entries.retain(|e| Rc::ptr_eq(&e.jwks, jwks) && e.digest != digest);
        if entries.len() >= KEPT {
            entries.remove(0);
        }
        entries.push(Entry {
            digest,
            jwks: Rc::clone(jwks),
            claims: claims.clone(),
        });
    });
}

/// The SHA-256 of an `Authorization` value: what an entry is found by.
fn digest(authorization: &str) -> [u8; 32] {
    Sha256::digest(authorization.as_bytes()).into()
}
