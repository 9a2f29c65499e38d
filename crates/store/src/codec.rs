//! Body compression: zstd, with one reusable context per connection.

use crate::error::StoreError;

/// zstd level 1: bodies compress 3-8x and the writer keeps its throughput.
const LEVEL: i32 = 1;

pub(crate) struct Compressor(zstd::bulk::Compressor<'static>);

impl Compressor {
    pub(crate) fn new() -> Result<Self, StoreError> {
        zstd::bulk::Compressor::new(LEVEL).map(Self).map_err(StoreError::Codec)
    }

    pub(crate) fn compress(&mut self, data: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.0.compress(data).map_err(StoreError::Codec)
    }
}

pub(crate) fn decompress(data: &[u8]) -> Result<Vec<u8>, StoreError> {
    zstd::stream::decode_all(data).map_err(StoreError::Codec)
}
