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
    let mut bytes = spin_sdk::wasip3::random::random::get_random_bytes(16);
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
