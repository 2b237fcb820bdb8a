//! Random identifiers, from WASI `random` (cryptographically secure on Spin).

/// `n` random bytes as lowercase hex (`2n` characters).
pub fn random_hex(n: u64) -> String {
    hex::encode(spin_sdk::wasip3::random::random::get_random_bytes(n))
}

/// A random UUID, version 4 (RFC 9562 §5.4), hyphenated lowercase.
pub fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    let random = spin_sdk::wasip3::random::random::get_random_bytes(16);
    bytes.copy_from_slice(&random[..16.min(random.len())]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// A new order id: `ord_` + 24 random lowercase hex characters (ARCHITECTURE §9).
pub fn order_id() -> String {
    format!("ord_{}", random_hex(12))
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_and_variant_bits_are_set_in_the_8_4_4_4_12_layout() {
        let text = uuid::Builder::from_random_bytes([0xff; 16])
            .into_uuid()
            .hyphenated()
            .to_string();
        assert_eq!(text, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let text = uuid::Builder::from_random_bytes([0; 16])
            .into_uuid()
            .hyphenated()
            .to_string();
        assert_eq!(text, "00000000-0000-4000-8000-000000000000");
    }
}
