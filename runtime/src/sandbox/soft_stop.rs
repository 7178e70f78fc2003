//! Ending a guest's capture early when its fuel or time is nearly spent, so
//! it returns the result for what it read instead of tripping the hard
//! limit and returning nothing.
//!
//! Components import only WASI, so the host cannot tell a guest "stop now"
//! except through what the guest already reads: its stdin. When the epoch
//! callback sees that less than a tenth of the fuel is left, or that nine
//! tenths of the wall-clock time have passed, it raises the stop, and the
//! guest's next read of the capture finds its end. Every analyzer then
//! finishes as at the end of a file, with the remaining tenth for its
//! result; the host marks that result as covering only part of the capture.
//! The hard limits stay as the backstop for a guest that no longer reads.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, ReadBuf};
use wasmtime_wasi::cli::{IsTerminal, StdinStream};
use wasmtime_wasi::p2::{InputStream, Pollable, StreamError, StreamResult};

use super::limits::LimitKind;

/// The share of fuel or time kept for the guest to finish once its capture
/// has been ended early.
pub const RESERVE_DIVISOR: u64 = 10;

/// Raised once, with the limit that was nearly reached; shared by the epoch
/// callback that raises it and the stdin that obeys it.
#[derive(Clone, Default)]
pub struct SoftStop(Arc<AtomicU8>);

const NOT_STOPPED: u8 = 0;
const STOPPED_FOR_FUEL: u8 = 1;
const STOPPED_FOR_TIME: u8 = 2;

impl SoftStop {
    /// Ends the capture for the guest, because `kind` is nearly reached (the
    /// first reason given is kept).
    pub fn raise(&self, kind: LimitKind) {
        let code = if kind == LimitKind::Fuel { STOPPED_FOR_FUEL } else { STOPPED_FOR_TIME };
        let _ = self.0.compare_exchange(NOT_STOPPED, code, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Which limit ended the capture early, if one did.
    pub fn reason(&self) -> Option<LimitKind> {
        match self.0.load(Ordering::Acquire) {
            STOPPED_FOR_FUEL => Some(LimitKind::Fuel),
            STOPPED_FOR_TIME => Some(LimitKind::WallClock),
            _ => None,
        }
    }

    fn raised(&self) -> bool {
        self.0.load(Ordering::Acquire) != NOT_STOPPED
    }
}

/// A guest's stdin that ends once the stop is raised.
pub struct StoppableStdin<S> {
    inner: S,
    stop: SoftStop,
}

impl<S> StoppableStdin<S> {
    /// `inner`, ended early by `stop`.
    pub fn new(inner: S, stop: SoftStop) -> Self {
        StoppableStdin { inner, stop }
    }
}

impl<S: StdinStream> StdinStream for StoppableStdin<S> {
    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(Stoppable { inner: self.inner.p2_stream(), stop: self.stop.clone() })
    }

    fn async_stream(&self) -> Box<dyn AsyncRead + Send + Sync> {
        Box::new(Stoppable { inner: Box::into_pin(self.inner.async_stream()), stop: self.stop.clone() })
    }
}

impl<S: StdinStream> IsTerminal for StoppableStdin<S> {
    fn is_terminal(&self) -> bool {
        false
    }
}

struct Stoppable<T> {
    inner: T,
    stop: SoftStop,
}

#[wasmtime_wasi::async_trait]
impl Pollable for Stoppable<Box<dyn InputStream>> {
    async fn ready(&mut self) {
        if !self.stop.raised() {
            self.inner.ready().await;
        }
    }
}

impl InputStream for Stoppable<Box<dyn InputStream>> {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        if self.stop.raised() {
            return Err(StreamError::Closed);
        }
        self.inner.read(size)
    }
}

impl AsyncRead for Stoppable<Pin<Box<dyn AsyncRead + Send + Sync>>> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.stop.raised() {
            return Poll::Ready(Ok(()));
        }
        self.inner.as_mut().poll_read(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reason_is_kept() {
        let stop = SoftStop::default();
        assert_eq!(stop.reason(), None);
        stop.raise(LimitKind::WallClock);
        stop.raise(LimitKind::Fuel);
        assert_eq!(stop.reason(), Some(LimitKind::WallClock));
    }

    #[test]
    fn the_stream_ends_once_the_stop_is_raised() {
        let file = {
            use std::io::{Seek, Write};
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(&[7u8; 4096]).unwrap();
            file.rewind().unwrap();
            file
        };
        let capture = super::super::CaptureStdin::new(file, 4096, crate::input::ReadProgress::default());
        let stop = SoftStop::default();
        let stdin = StoppableStdin::new(capture, stop.clone());
        let mut stream = stdin.p2_stream();
        assert_eq!(stream.read(1000).unwrap().len(), 1000);
        stop.raise(LimitKind::Fuel);
        assert!(matches!(stream.read(1000), Err(StreamError::Closed)));
    }
}
