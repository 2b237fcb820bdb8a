//! An accepted socket that counts its writes for `op_counts` (a diagnostic of this host, not a
//! Spin feature): socket writes per response tell whether responses leave in the write that
//! carries their head (issue 10, README → Benchmarks, session 21).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A socket whose writes that sent at least one byte count in `op_counts`
/// (`httpSocketWrites`). Reads, flushes and shutdowns pass through unchanged, and so does
/// whether it writes vectored.
pub(crate) struct CountedWrites<S>(S);

impl<S> CountedWrites<S> {
    /// `socket`, counted.
    pub(crate) fn new(socket: S) -> Self {
        Self(socket)
    }
}

/// Whether a write's outcome counts: it completed and sent bytes (a refused, pending or empty
/// write sent nothing).
fn sent_bytes(written: &Poll<io::Result<usize>>) -> bool {
    matches!(written, Poll::Ready(Ok(n)) if *n > 0)
}

/// Counts `written` if it sent bytes, and passes it on.
fn counted(written: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
    if sent_bytes(&written) {
        crate::op_counts::http_socket_write();
    }
    written
}

impl<S: AsyncRead + Unpin> AsyncRead for CountedWrites<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountedWrites<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        counted(Pin::new(&mut self.0).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        counted(Pin::new(&mut self.0).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::sent_bytes;
    use std::io;
    use std::task::Poll;

    #[test]
    fn only_a_completed_write_that_sent_bytes_counts() {
        assert!(sent_bytes(&Poll::Ready(Ok(239))));
        assert!(sent_bytes(&Poll::Ready(Ok(1))));
        assert!(!sent_bytes(&Poll::Ready(Ok(0))));
        assert!(!sent_bytes(&Poll::Pending));
        assert!(!sent_bytes(&Poll::Ready(Err(io::Error::from(
            io::ErrorKind::BrokenPipe
        )))));
    }
}
