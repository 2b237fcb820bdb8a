//! Random identifiers, from WASI `random` (cryptographically secure on Spin).

/// `n` random bytes as lowercase hex (`2n` characters).
pub fn random_hex(n: u64) -> String {
    hex::encode(spin_sdk::wasip3::random::random::get_random_bytes(n))
}

/// A new order id: `ord_` + 24 lowercase hex characters, the creation time in Unix epoch
/// milliseconds (48 bits, 12 characters) then 48 random bits. Time-ordered, so an order's
/// rows go to the right-most leaves of the B-trees keyed by order id (orders, lines, history,
/// the key's order index) instead of a random page each (issue 10); unique per millisecond
/// with probability 1 − n²/2⁴⁹ for n orders in that millisecond.
pub fn order_id() -> String {
    let random = spin_sdk::wasip3::random::random::get_random_bytes(6);
    order_id_from(crate::clock::now_ms(), &random)
}

/// The order id for `now_ms` (epoch ms, its low 48 bits) and `random` (6 bytes).
fn order_id_from(now_ms: i64, random: &[u8]) -> String {
    let millis = u64::try_from(now_ms).unwrap_or_default() & 0xffff_ffff_ffff;
    format!("ord_{millis:012x}{}", hex::encode(random))
}

/// A time-ordered UUID, version 7 (RFC 9562 §5.7: 48-bit epoch milliseconds, then 74 random
/// bits), hyphenated lowercase: outbox rows keyed by event id land on the right-most leaf.
pub fn uuid_v7() -> String {
    let mut bytes = [0u8; 10];
    let random = spin_sdk::wasip3::random::random::get_random_bytes(10);
    for (byte, from) in bytes.iter_mut().zip(random) {
        *byte = from;
    }
    uuid_v7_from(crate::clock::now_ms(), bytes)
}

/// The version 7 UUID for `now_ms` (epoch ms) and 10 random bytes.
fn uuid_v7_from(now_ms: i64, random: [u8; 10]) -> String {
    let millis = u64::try_from(now_ms).unwrap_or_default();
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .hyphenated()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::{order_id_from, uuid_v7_from};

    #[test]
    fn order_ids_start_with_the_creation_millisecond_so_later_ids_sort_after_earlier_ones() {
        let earlier = order_id_from(1_764_650_000_000, &[0xff; 6]);
        let later = order_id_from(1_764_650_000_001, &[0; 6]);
        assert_eq!(earlier, "ord_019add561e80ffffffffffff");
        assert_eq!(later.len(), 28);
        assert!(earlier < later, "{earlier} < {later}");
    }

    #[test]
    fn uuid_v7_carries_version_7_and_the_millisecond_first() {
        let earlier = uuid_v7_from(1_764_650_000_000, [0xff; 10]);
        let later = uuid_v7_from(1_764_650_000_001, [0; 10]);
        assert_eq!(earlier, "019add56-1e80-7fff-bfff-ffffffffffff");
        assert!(earlier < later, "{earlier} < {later}");
    }
}
