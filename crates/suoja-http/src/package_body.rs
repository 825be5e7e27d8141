//! Export packages as response bodies: a task reads the package chunk by chunk from the
//! database and hands each to the body through a small channel, so a download of any size
//! holds at most a few chunks in memory and a slow client slows only its own reads.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use http_body::Frame;
use suoja_privacy::export::package::PackageReader;
use tokio::sync::mpsc;

/// A body fed by the package reader's task. A read that fails mid-way ends the body with an
/// error, so the client sees a broken download rather than a shorter file.
struct Fed(mpsc::Receiver<Result<Bytes, std::io::Error>>, u64);

impl http_body::Body for Fed {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|next| next.map(|r| r.map(Frame::data)))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.1)
    }
}

/// The package's content (`size` bytes) as a streamed body.
pub fn body(mut reader: PackageReader, size: u64) -> Body {
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        loop {
            match reader.next().await {
                Ok(Some(piece)) => {
                    if tx.send(Ok(Bytes::from(piece))).await.is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(error = %e, "reading an export package failed mid-download");
                    let _ = tx.send(Err(std::io::Error::other("the package could not be read"))).await;
                    return;
                }
            }
        }
    });
    Body::new(Fed(rx, size))
}
