//! W3C Trace Context `traceparent` (version `00`), carried as a CloudEvent extension.

/// Whether `value` is a well-formed `traceparent`: `00-<32 hex>-<16 hex>-<2 hex>`, lowercase,
/// with neither the trace id nor the parent id all zeros. Later versions may append
/// fields (`-…`) after the same prefix; version `ff` is invalid.
pub fn is_valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |part: &str, len: usize| {
        part.len() == len && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let nonzero = |part: &str| part.bytes().any(|b| b != b'0');
    match parts.as_slice() {
        [version, trace_id, parent_id, flags, rest @ ..] => {
            hex(version, 2)
                && *version != "ff"
                && (rest.is_empty() || *version != "00")
                && hex(trace_id, 32)
                && hex(parent_id, 16)
                && hex(flags, 2)
                && nonzero(trace_id)
                && nonzero(parent_id)
        }
        _ => false,
    }
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
