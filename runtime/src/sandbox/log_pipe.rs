//! A guest's stderr: keeps the first few KiB for error reports and accepts
//! (and drops) the rest, so a chatty or hostile guest can neither fill host
//! memory nor crash itself on a failed write (Rust's `eprintln!` panics then).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// A bounded, shared, lossy log buffer.
#[derive(Clone)]
pub struct LogPipe {
    kept: Arc<Mutex<Vec<u8>>>,
    capacity: usize,
}

impl LogPipe {
    /// A pipe keeping at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        LogPipe { kept: Arc::new(Mutex::new(Vec::new())), capacity }
    }

    /// What was kept, as text.
    pub fn contents(&self) -> String {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&kept).trim_end().to_string()
    }
}

impl IsTerminal for LogPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogPipe {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for LogPipe {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let room = self.capacity.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..buf.len().min(room)]);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
