//! A WebSocket as the bridge sees it: a stream of text frames in and a sink of text frames out,
//! both halves over the one socket.
//!
//! Both halves of a call's sockets are polled by the call's own task, so they share
//! the socket through an `Rc<RefCell<…>>` rather than `futures`' `split`, whose lock takes atomic
//! operations on every poll — with the adapters that turned its messages into text, a few percent
//! of the bridge's CPU at fifty frames a second each way (docs/benchmarks.md, "Voice bridge").
//! A borrow lasts for one poll of the socket and no poll of one half happens inside the other's,
//! so the two never overlap.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::{Error, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// The halves of `socket`: text frames out, text frames in.
pub fn text_frames<S>(socket: WebSocketStream<S>) -> (TextSink<S>, TextStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let socket = Rc::new(RefCell::new(socket));
    (
        TextSink {
            socket: socket.clone(),
        },
        TextStream {
            socket,
            ended: false,
        },
    )
}

/// The socket's text frames; pings are answered by tungstenite, binary frames and pongs are
/// skipped, and the stream ends at a close frame.
pub struct TextStream<S> {
    socket: Rc<RefCell<WebSocketStream<S>>>,
    ended: bool,
}

impl<S> Stream for TextStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Utf8Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        loop {
            let message = match self.socket.borrow_mut().poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(message) => message,
            };
            match message {
                Some(Ok(Message::Text(text))) => return Poll::Ready(Some(Ok(text))),
                Some(Ok(Message::Close(_))) | None => {
                    self.ended = true;
                    return Poll::Ready(None);
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => return Poll::Ready(Some(Err(err))),
            }
        }
    }
}

/// Text frames to the socket; closing it sends a close frame.
pub struct TextSink<S> {
    socket: Rc<RefCell<WebSocketStream<S>>>,
}

impl<S> Sink<String> for TextSink<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.socket.borrow_mut().poll_ready_unpin(cx)
    }

    fn start_send(self: Pin<&mut Self>, text: String) -> Result<(), Error> {
        self.socket
            .borrow_mut()
            .start_send_unpin(Message::text(text))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.socket.borrow_mut().poll_flush_unpin(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.socket.borrow_mut().poll_close_unpin(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// Two ends of an in-memory WebSocket: a client and our server side.
    async fn pair() -> (
        WebSocketStream<tokio::io::DuplexStream>,
        WebSocketStream<tokio::io::DuplexStream>,
    ) {
        let (client, server) = tokio::io::duplex(4096);
        (
            WebSocketStream::from_raw_socket(client, Role::Client, None).await,
            WebSocketStream::from_raw_socket(server, Role::Server, None).await,
        )
    }

    #[tokio::test]
    async fn it_should_give_text_frames_skip_the_rest_and_end_at_the_close() {
        let (mut client, server) = pair().await;
        let (mut out, mut frames) = text_frames(server);
        client.send(Message::text("one")).await.unwrap();
        client.send(Message::binary(vec![1, 2, 3])).await.unwrap();
        client.send(Message::Ping(vec![9].into())).await.unwrap();
        client.send(Message::text("two")).await.unwrap();
        client.close(None).await.unwrap();

        assert_eq!(frames.next().await.unwrap().unwrap(), "one");
        assert_eq!(frames.next().await.unwrap().unwrap(), "two");
        assert!(frames.next().await.is_none());
        assert!(frames.next().await.is_none(), "stays ended");

        // Closing our side flushes what tungstenite queued: the answers to the ping and the close.
        drop(out.close().await);
        let mut answers = Vec::new();
        while !matches!(answers.last(), Some(Message::Close(_))) {
            answers.push(client.next().await.unwrap().unwrap());
        }
        assert!(
            answers
                .iter()
                .any(|m| matches!(m, Message::Pong(p) if p[..] == [9])),
            "{answers:?}"
        );
    }

    #[tokio::test]
    async fn it_should_send_text_frames_and_a_close_frame_when_closed() {
        let (mut client, server) = pair().await;
        let (mut out, _frames) = text_frames(server);
        out.send("hello".to_owned()).await.unwrap();
        out.close().await.unwrap();

        assert_eq!(
            client.next().await.unwrap().unwrap(),
            Message::text("hello")
        );
        assert!(matches!(
            client.next().await.unwrap().unwrap(),
            Message::Close(_)
        ));
    }
}
