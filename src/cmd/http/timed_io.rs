//! A socket whose writes give up when they stop moving: the write
//! deadline of the exporter's connections, which hyper leaves to the I/O
//! type. (Reading is bounded by hyper's own header read timeout, which
//! also runs while a connection waits for its first or next request.)
//!
//! A write that has waited `write_timeout` without a byte moving (a
//! client that asked and stopped reading, so its receive buffer and our
//! send buffer are full) ends the connection. Any byte moving either way
//! restarts the clock, so a slow but moving transfer is never cut. It
//! never looks at the bytes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{sleep, Sleep};

/// An I/O stream with a write deadline.
pub struct TimedIo<S> {
    inner: S,
    write_timeout: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<S> TimedIo<S> {
    /// Wraps `inner`; a write waits at most `write_timeout` without a byte
    /// moving.
    pub fn new(inner: S, write_timeout: Duration) -> Self {
        TimedIo {
            inner,
            write_timeout,
            deadline: None,
        }
    }

    /// The bookkeeping around one poll of the inner stream's write side.
    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.deadline = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let after = self.write_timeout;
                let expired = self
                    .deadline
                    .get_or_insert_with(|| Box::pin(sleep(after)))
                    .as_mut()
                    .poll(cx)
                    .is_ready();
                if expired {
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("write blocked for {} s", after.as_secs()),
                    )))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if poll.is_ready() {
            // Bytes moved: a write waiting now waits afresh.
            this.deadline = None;
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, poll)
    }
}
