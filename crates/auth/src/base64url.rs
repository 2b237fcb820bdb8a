//! Strict base64url without padding (RFC 7515 §2): no `=`, no whitespace, no non-canonical
//! trailing bits, so one byte string has exactly one encoding and a token cannot be altered
//! without changing its signed bytes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Decodes strict base64url; `None` on any deviation.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Encodes as base64url without padding (only signing needs it).
#[cfg(any(test, feature = "signing"))]
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_padding_standard_alphabet_and_non_canonical_bits() {
        assert_eq!(decode("YQ").unwrap(), b"a");
        assert!(decode("YQ==").is_none());
        assert!(decode("+/8").is_none());
        assert!(decode("YR").is_none(), "trailing bits must be zero");
        assert!(decode("Y Q").is_none());
    }
}
