//! Body encoding: zstd for bodies worth compressing, raw (behind a one-byte tag) for small ones,
//! whose compression costs the writer more than it saves on disk.

use crate::error::StoreError;

/// zstd level 1: bodies compress 3-8x and the writer keeps its throughput.
const LEVEL: i32 = 1;
/// Bodies shorter than this are stored as they are.
const MIN_COMPRESS_BYTES: usize = 1024;
/// First byte of a raw body. zstd frames start with the magic number 0xFD2FB528 (`28 b5 2f fd`).
const RAW_TAG: u8 = 0;

pub(crate) struct Compressor(zstd::bulk::Compressor<'static>);

impl Compressor {
    pub(crate) fn new() -> Result<Self, StoreError> {
        zstd::bulk::Compressor::new(LEVEL).map(Self).map_err(StoreError::Codec)
    }

    pub(crate) fn encode(&mut self, data: &[u8]) -> Result<Vec<u8>, StoreError> {
        if data.len() < MIN_COMPRESS_BYTES {
            let mut out = Vec::with_capacity(data.len() + 1);
            out.push(RAW_TAG);
            out.extend_from_slice(data);
            return Ok(out);
        }
        self.0.compress(data).map_err(StoreError::Codec)
    }
}

pub(crate) fn decode(data: &[u8]) -> Result<Vec<u8>, StoreError> {
    match data.split_first() {
        Some((&RAW_TAG, raw)) => Ok(raw.to_vec()),
        _ => zstd::stream::decode_all(data).map_err(StoreError::Codec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_bodies_round_trip() {
        let mut c = Compressor::new().unwrap();
        for body in [Vec::new(), b"{\"q\":1}".to_vec(), vec![b'x'; 5000], vec![0x28, 0xb5, 0x2f, 0xfd, 1, 2]] {
            let stored = c.encode(&body).unwrap();
            assert_eq!(decode(&stored).unwrap(), body);
        }
        assert!(c.encode(&vec![b'x'; 5000]).unwrap().len() < 100, "large bodies are compressed");
    }
}
