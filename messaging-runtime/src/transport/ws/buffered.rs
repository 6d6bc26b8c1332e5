//! The socket under tungstenite: reads go through a buffer that one system call fills with a
//! burst of frames, and that an idle connection does not hold.
//!
//! A buffer per connection held for good costs what it holds at its largest: with 10,000
//! idle connections, most of the server's memory. This one is taken (uninitialised, never
//! zeroed) when a read finds it empty, and given back as soon as the socket has nothing more
//! to read, so only connections that are reading right now hold one. Given back to the
//! thread, not to the allocator: the next connection read on this thread takes it again, so
//! a busy connection does not allocate (and free) 64 KiB for every burst it reads.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::task::{ready, Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// How much one read from the socket takes in at most.
const SOCKET_READ_SIZE: usize = 64 * 1024;

/// How many idle buffers a thread keeps for the next reads; more are freed.
const SPARE_BUFFERS: usize = 4;

thread_local! {
    /// Buffers given back by connections that had nothing more to read, for the next read
    /// on this thread.
    static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer: one given back on this thread, or a new one.
fn take_buffer() -> BytesMut {
    SPARE.with(|spare| spare.borrow_mut().pop()).unwrap_or_default()
}

/// Keeps an empty buffer for the next read on this thread (or frees it, when the thread
/// keeps enough).
fn give_back(mut buffer: BytesMut) {
    buffer.clear();
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < SPARE_BUFFERS {
            spare.push(buffer);
        }
    });
}

/// A stream whose reads are buffered while data flows, with no buffer while it is idle.
#[derive(Debug)]
pub(crate) struct Buffered<S> {
    inner: S,
    /// What the last read took in and nobody read yet; `None` while idle.
    buffer: Option<BytesMut>,
}

impl<S> Buffered<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self { inner, buffer: None }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Buffered<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let buffer = this.buffer.get_or_insert_with(take_buffer);
        if buffer.is_empty() {
            buffer.clear();
            // Taken uninitialised: nothing is zeroed.
            buffer.reserve(SOCKET_READ_SIZE);
            let read = pin!(this.inner.read_buf(buffer)).poll(cx);
            match read {
                Poll::Pending => {
                    // Nothing more to read for now: an idle connection holds no buffer.
                    if let Some(buffer) = this.buffer.take() {
                        give_back(buffer);
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                // End of stream: nothing put into `out` says so.
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(_)) => {}
            }
        }
        let n = out.remaining().min(buffer.len());
        out.put_slice(&buffer[..n]);
        buffer.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Buffered<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut self.inner).poll_shutdown(cx))?;
        Poll::Ready(Ok(()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
