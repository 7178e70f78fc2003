//! A capture file as a guest's stdin, read in place.
//!
//! wasmtime's `AsyncStdinStream` turns any `AsyncRead` into stdin by reading
//! it on a separate task in 64 KiB pieces through a channel; for a
//! `tokio::fs::File` each piece also hops to the blocking thread pool. On a
//! 175 MB capture those hops cost more than the analysis itself (capinfos).
//! A regular file needs none of that: a read of a bounded size from the page
//! cache is as quick as the copy into the guest, so the guest's read is
//! served synchronously, like wasmtime's own `InputFile`, with two additions:
//! the stream ends at the size the file had when it was opened, and what the
//! guest pulls is counted for progress.

use std::io::Read;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, ReadBuf};
use wasmtime_wasi::cli::{IsTerminal, StdinStream};
use wasmtime_wasi::p2::{InputStream, Pollable, StreamError, StreamResult};

use crate::input::ReadProgress;

/// The most one guest read takes from the file: bounded, because a host call
/// is neither fuel-metered nor interruptible, and large enough that the
/// per-call cost is small against the copy.
const MAX_READ: usize = 1024 * 1024;

/// A capture file cut at `size` bytes, shareable as stdin (WASI lets a guest
/// open several handles to stdin; they all advance together).
#[derive(Clone)]
pub struct CaptureStdin(Arc<Mutex<Source>>);

struct Source {
    file: std::fs::File,
    remaining: u64,
    progress: ReadProgress,
}

impl CaptureStdin {
    /// Streams `file` from its current position, stopping after `size` bytes
    /// (the size it had when opened: a file still being written is analyzed
    /// as it was) or earlier if it shrinks; counts into `progress`.
    pub fn new(file: std::fs::File, size: u64, progress: ReadProgress) -> Self {
        CaptureStdin(Arc::new(Mutex::new(Source { file, remaining: size, progress })))
    }

    /// Reads at most `buf.len()` bytes; 0 at the end.
    fn read_into(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.read_with(buf.len(), |file, wanted| file.read(&mut buf[..wanted]))
    }

    /// Appends at most `limit` bytes to `buf`'s spare capacity, which need
    /// not be zeroed first (the bytes of a whole capture, each time).
    fn read_onto(&self, buf: &mut Vec<u8>, limit: usize) -> std::io::Result<usize> {
        buf.reserve(limit);
        self.read_with(limit, |file, wanted| {
            let spare = &mut buf.spare_capacity_mut()[..wanted];
            let (filled, _) = rustix::io::read(&*file, spare)?;
            let n = filled.len();
            // SAFETY: `rustix::io::read` initialized the first `n` spare bytes.
            unsafe { buf.set_len(buf.len() + n) };
            Ok(n)
        })
    }

    /// Runs `read(file, wanted)` for at most `limit` bytes, never past the
    /// announced size; retries interrupted reads; counts what it got.
    fn read_with(
        &self,
        limit: usize,
        mut read: impl FnMut(&mut std::fs::File, usize) -> std::io::Result<usize>,
    ) -> std::io::Result<usize> {
        // A poisoned lock means a panic mid-read elsewhere: the stream ends.
        let Ok(mut source) = self.0.lock() else { return Ok(0) };
        let wanted = limit.min(usize::try_from(source.remaining).unwrap_or(usize::MAX));
        if wanted == 0 {
            return Ok(0);
        }
        let n = loop {
            match read(&mut source.file, wanted) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        source.remaining -= n as u64;
        source.progress.add(n as u64);
        Ok(n)
    }
}

impl StdinStream for CaptureStdin {
    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncRead + Send + Sync> {
        Box::new(self.clone())
    }
}

impl IsTerminal for CaptureStdin {
    fn is_terminal(&self) -> bool {
        false
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CaptureStdin {
    /// Always ready: a read never waits for more than the file.
    async fn ready(&mut self) {}
}

impl InputStream for CaptureStdin {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        let limit = size.min(MAX_READ);
        if limit == 0 {
            return Ok(Bytes::new());
        }
        let mut buf = Vec::new();
        let n = self.read_onto(&mut buf, limit).map_err(|e| StreamError::LastOperationFailed(e.into()))?;
        if n == 0 {
            return Err(StreamError::Closed);
        }
        Ok(Bytes::from(buf))
    }
}

/// For the one-pass fan-out, which reads the capture once for every
/// analyzer: the same bounded synchronous read.
impl AsyncRead for CaptureStdin {
    fn poll_read(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        let limit = unfilled.len().min(MAX_READ);
        let n = self.read_into(&mut unfilled[..limit])?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> std::fs::File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        use std::io::Seek;
        file.rewind().unwrap();
        file
    }

    fn read_all(stdin: &mut CaptureStdin, piece: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            match InputStream::read(stdin, piece) {
                Ok(bytes) => out.extend_from_slice(&bytes),
                Err(StreamError::Closed) => return out,
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    #[test]
    fn stops_at_the_size_given_and_counts_what_it_delivers() {
        let data: Vec<u8> = (0..=255u8).cycle().take(3 * MAX_READ + 17).collect();
        let progress = ReadProgress::default();
        let mut stdin = CaptureStdin::new(file_with(&data), 2 * MAX_READ as u64 + 5, progress.clone());
        let read = read_all(&mut stdin, 4 * MAX_READ);
        assert_eq!(read, data[..2 * MAX_READ + 5]);
        assert_eq!(progress.bytes(), 2 * MAX_READ as u64 + 5);
    }

    #[test]
    fn a_file_shorter_than_announced_just_ends() {
        let progress = ReadProgress::default();
        let mut stdin = CaptureStdin::new(file_with(b"twelve bytes"), 1000, progress.clone());
        assert_eq!(read_all(&mut stdin, 5), b"twelve bytes");
        assert_eq!(progress.bytes(), 12);
    }

    #[tokio::test]
    async fn reads_the_same_as_an_async_reader() {
        use tokio::io::AsyncReadExt;
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut stdin = CaptureStdin::new(file_with(&data), 99_999, ReadProgress::default());
        let mut out = Vec::new();
        stdin.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, data[..99_999]);
    }
}
