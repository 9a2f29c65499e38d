//! Log ids: ULIDs, sortable by creation time, the same shape as Cloudflare's log ids.

use ulid::Ulid;

/// A new ULID for a record created at `now_ms` (milliseconds since the Unix epoch).
pub fn new_ulid(now_ms: i64) -> String {
    let ms = u64::try_from(now_ms).unwrap_or(0);
    Ulid::from_parts(ms, rand_bits()).to_string()
}

/// 80 random bits. ULID's own generator is used so that the randomness source stays the crate's.
fn rand_bits() -> u128 {
    Ulid::generate().random()
}

/// The millisecond timestamp inside a ULID string, if it is one.
pub fn ulid_ms(id: &str) -> Option<i64> {
    Ulid::from_string(id).ok().map(|u| u.timestamp_ms() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulid_carries_its_time_and_sorts_by_it() {
        let a = new_ulid(1_700_000_000_000);
        let b = new_ulid(1_700_000_000_001);
        assert_eq!(a.len(), 26);
        assert_eq!(ulid_ms(&a), Some(1_700_000_000_000));
        assert!(a < b);
    }
}
