//! A socket that gives up when it stops moving: the read and write
//! deadlines of the exporter's connections, which hyper itself leaves to
//! the I/O type.
//!
//! Two clocks, both restarted by any byte that moves either way:
//! - idle: a read that has waited this long (a keep-alive connection that
//!   sends nothing, a client that connected and went quiet) ends the
//!   connection;
//! - write: a write that has waited this long (a client that asked and
//!   stopped reading, so its receive buffer and ours are full) ends it.
//!
//! It never looks at the bytes; a slow but moving transfer is never cut.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{sleep, Sleep};

/// An I/O stream with idle and write deadlines.
pub struct TimedIo<S> {
    inner: S,
    idle_timeout: Duration,
    write_timeout: Duration,
    read_deadline: Option<Pin<Box<Sleep>>>,
    write_deadline: Option<Pin<Box<Sleep>>>,
}

impl<S> TimedIo<S> {
    /// Wraps `inner`; a read waits at most `idle_timeout`, a write at most
    /// `write_timeout`, without a byte moving.
    pub fn new(inner: S, idle_timeout: Duration, write_timeout: Duration) -> Self {
        TimedIo {
            inner,
            idle_timeout,
            write_timeout,
            read_deadline: None,
            write_deadline: None,
        }
    }

    fn progressed(&mut self) {
        self.read_deadline = None;
        self.write_deadline = None;
    }
}

/// Arms `deadline` (if it is not) and reports whether it has passed.
fn expired(deadline: &mut Option<Pin<Box<Sleep>>>, after: Duration, cx: &mut Context<'_>) -> bool {
    deadline
        .get_or_insert_with(|| Box::pin(sleep(after)))
        .as_mut()
        .poll(cx)
        .is_ready()
}

fn timed_out(what: &str, after: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what} for {} s without a byte", after.as_secs()),
    )
}

use std::future::Future;

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                this.progressed();
                Poll::Ready(result)
            }
            Poll::Pending => {
                if expired(&mut this.read_deadline, this.idle_timeout, cx) {
                    Poll::Ready(Err(timed_out("idle", this.idle_timeout)))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> TimedIo<S> {
    /// The write side's bookkeeping around one poll of the inner stream.
    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.progressed();
                Poll::Ready(result)
            }
            Poll::Pending => {
                if expired(&mut self.write_deadline, self.write_timeout, cx) {
                    Poll::Ready(Err(timed_out("write blocked", self.write_timeout)))
                } else {
                    Poll::Pending
                }
            }
        }
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
