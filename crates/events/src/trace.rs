//! W3C Trace Context `traceparent` (version `00`), carried as a CloudEvent extension.

/// A parsed `traceparent` header (W3C Trace Context §3.2): `version-traceid-parentid-flags`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Traceparent {
    /// 2 lowercase hex characters; `00` today.
    pub version: String,
    /// 32 lowercase hex characters, not all zero.
    pub trace_id: String,
    /// 16 lowercase hex characters, not all zero: the caller's span.
    pub parent_id: String,
    /// 2 lowercase hex characters (`01` = sampled).
    pub flags: String,
}

impl Traceparent {
    /// Parses `value`: lowercase hex fields of the right lengths, trace and parent ids not all
    /// zeros, version not `ff`. Version `00` has exactly four fields; a later version may append
    /// fields after the same four, which are ignored (§3.2.4: parse what you understand).
    /// `None` for anything else (the caller then starts a new trace, §3.2.2.1).
    pub fn parse(value: &str) -> Option<Self> {
        let parts: Vec<&str> = value.split('-').collect();
        let hex = |part: &str, len: usize| {
            part.len() == len && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        let nonzero = |part: &str| part.bytes().any(|b| b != b'0');
        let [version, trace_id, parent_id, flags, rest @ ..] = parts.as_slice() else {
            return None;
        };
        let valid = hex(version, 2)
            && *version != "ff"
            && (rest.is_empty() || *version != "00")
            && hex(trace_id, 32)
            && hex(parent_id, 16)
            && hex(flags, 2)
            && nonzero(trace_id)
            && nonzero(parent_id);
        valid.then(|| Self {
            version: (*version).to_owned(),
            trace_id: (*trace_id).to_owned(),
            parent_id: (*parent_id).to_owned(),
            flags: (*flags).to_owned(),
        })
    }
}

/// Whether `value` is a well-formed `traceparent` ([`Traceparent::parse`] accepts it).
pub fn is_valid_traceparent(value: &str) -> bool {
    Traceparent::parse(value).is_some()
}

#[cfg(test)]
mod tests {
    use super::is_valid_traceparent;

    #[test]
    fn accepts_the_w3c_example_and_refuses_malformed_ones() {
        assert!(is_valid_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(!is_valid_traceparent(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod parse_tests {
    use super::Traceparent;

    #[test]
    fn parse_returns_the_fields_and_ignores_what_a_later_version_appends() {
        let parsed =
            Traceparent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(parsed.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parsed.parent_id, "00f067aa0ba902b7");
        assert_eq!(parsed.flags, "01");
        let later =
            Traceparent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever")
                .unwrap();
        assert_eq!(later.version, "01");
        assert_eq!(later.trace_id, parsed.trace_id);
    }
}
