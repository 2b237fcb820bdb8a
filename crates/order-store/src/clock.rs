//! Wall-clock time and random identifiers: the only places the components that write orders
//! read the clock or the random source.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 if the clock is before 1970.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: u64) -> String {
    spin_sdk::wasip3::random::random::get_random_bytes(n)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A random UUID (version 4, RFC 9562 layout).
pub fn uuid_v4() -> String {
    format_uuid_v4(spin_sdk::wasip3::random::random::get_random_bytes(16))
}

/// `bytes` (16 random bytes; padded with zeros if fewer) as a version 4 UUID: version and
/// variant bits set, lowercase hex, 8-4-4-4-12.
fn format_uuid_v4(mut bytes: Vec<u8>) -> String {
    bytes.resize(16, 0);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A new order id: `ord_` + 24 random hex characters.
pub fn order_id() -> String {
    format!("ord_{}", random_hex(12))
}

#[cfg(test)]
mod tests {
    use super::format_uuid_v4;

    #[test]
    fn uuid_v4_sets_version_and_variant_bits_in_the_8_4_4_4_12_layout() {
        assert_eq!(
            format_uuid_v4(vec![0xff; 16]),
            "ffffffff-ffff-4fff-bfff-ffffffffffff"
        );
        assert_eq!(
            format_uuid_v4(vec![0; 16]),
            "00000000-0000-4000-8000-000000000000"
        );
    }
}
