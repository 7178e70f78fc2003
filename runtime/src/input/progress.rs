//! Counts the capture bytes the sandbox has pulled, so a long analysis can
//! report progress without the host ever looking at the bytes.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// Shared progress of one call: bytes delivered to the analyzer so far.
#[derive(Clone, Default)]
pub struct ReadProgress {
    bytes: Arc<AtomicU64>,
}

impl ReadProgress {
    /// Bytes delivered so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// An `AsyncRead` that adds what passes through to a [`ReadProgress`].
pub struct CountingReader<R> {
    inner: R,
    progress: ReadProgress,
}

impl<R> CountingReader<R> {
    /// Wraps `inner`, counting into `progress`.
    pub fn new(inner: R, progress: ReadProgress) -> Self {
        CountingReader { inner, progress }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for CountingReader<R> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.progress.bytes.fetch_add(read as u64, Ordering::Relaxed);
        poll
    }
}
