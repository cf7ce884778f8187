use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use crate::openai::realtime::connect::tls_config;
use crate::openai::realtime::*;

const SECOND: Duration = Duration::from_secs(1);

fn key() -> SecretString {
    SecretString::from("sk-test-123")
}

async fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

fn url(scheme: &str, port: u16) -> Url {
    Url::parse(&format!(
        "{scheme}://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
    ))
    .unwrap()
}

/// A WebSocket server that reports the handshake's headers, then says hello.
async fn spawn_server(listener: TcpListener) -> oneshot::Receiver<Vec<(String, String)>> {
    let (headers_tx, headers_rx) = oneshot::channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut headers_tx = Some(headers_tx);
        #[expect(clippy::result_large_err, reason = "tungstenite's callback signature")]
        let callback = |request: &Request, response: Response| {
            let headers = request
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        value.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            if let Some(tx) = headers_tx.take() {
                let _ = tx.send(headers);
            }
            Ok(response)
        };
        let mut socket = tokio_tungstenite::accept_hdr_async(stream, callback)
            .await
            .unwrap();
        socket
            .send(Message::text(
                r#"{"type":"session.created","event_id":"e1","session":{}}"#,
            ))
            .await
            .unwrap();
        // Echo one message back, then close.
        if let Some(Ok(message)) = socket.next().await {
            let _ = socket.send(message).await;
        }
    });
    headers_rx
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn it_should_connect_with_the_bearer_key_and_no_compression() {
    // Arrange
    let (listener, port) = listener().await;
    let headers = spawn_server(listener).await;

    // Act
    let mut socket = connect(&url("ws", port), &key(), Interface::Ga, SECOND)
        .await
        .unwrap();

    // Assert
    let headers = headers.await.unwrap();
    assert_eq!(
        header(&headers, "authorization"),
        Some("Bearer sk-test-123")
    );
    assert_eq!(header(&headers, "openai-beta"), None, "GA: no beta header");
    assert_eq!(header(&headers, "sec-websocket-extensions"), None);
    let Some(Ok(Message::Text(first))) = socket.next().await else {
        panic!("no first event");
    };
    assert_eq!(
        parse_server_event(&first, Interface::Ga).unwrap(),
        ServerEvent::SessionCreated
    );
    socket
        .send(Message::text(append_audio("AAAA")))
        .await
        .unwrap();
    let Some(Ok(Message::Text(echo))) = socket.next().await else {
        panic!("no echo");
    };
    assert_eq!(echo.as_str(), append_audio("AAAA"));
}

#[tokio::test]
async fn it_should_send_the_beta_header_for_the_beta_interface() {
    let (listener, port) = listener().await;
    let headers = spawn_server(listener).await;

    let _socket = connect(&url("ws", port), &key(), Interface::Beta, SECOND)
        .await
        .unwrap();

    let headers = headers.await.unwrap();
    assert_eq!(header(&headers, "openai-beta"), Some("realtime=v1"));
    assert_eq!(
        header(&headers, "authorization"),
        Some("Bearer sk-test-123")
    );
}

/// A server that answers the upgrade with a plain HTTP status.
async fn spawn_refusing_server(listener: TcpListener, status: &'static str) {
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buffer = [0u8; 4096];
        let _ = stream.read(&mut buffer).await;
        let body = r#"{"error":{"type":"invalid_request_error","message":"no"}}"#;
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    });
}

#[tokio::test]
async fn it_should_report_the_status_of_a_refused_upgrade() {
    for (status, code) in [
        ("401 Unauthorized", 401),
        ("403 Forbidden", 403),
        ("429 Too Many Requests", 429),
        ("500 Internal Server Error", 500),
        ("503 Service Unavailable", 503),
    ] {
        let (listener, port) = listener().await;
        spawn_refusing_server(listener, status).await;

        let result = connect(&url("ws", port), &key(), Interface::Ga, SECOND).await;

        assert!(
            matches!(result, Err(RealtimeError::Refused { status }) if status == code),
            "{status}: {result:?}"
        );
    }
}

#[tokio::test]
async fn it_should_time_out_on_a_server_that_never_answers() {
    // Arrange: TCP is accepted, the handshake never answered.
    let (listener, port) = listener().await;
    let (release_tx, release_rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let _ = release_rx.await;
        drop(stream);
    });

    // Act
    let started = Instant::now();
    let result = connect(
        &url("ws", port),
        &key(),
        Interface::Ga,
        Duration::from_millis(150),
    )
    .await;

    // Assert
    assert!(matches!(result, Err(RealtimeError::Timeout)), "{result:?}");
    assert!(started.elapsed() < SECOND, "{:?}", started.elapsed());
    let _ = release_tx.send(());
}

#[tokio::test]
async fn it_should_take_the_tls_path_for_wss_without_panicking() {
    // Arrange: a TCP server that never speaks TLS, and one that hangs up at once.
    let (silent, silent_port) = listener().await;
    tokio::spawn(async move {
        let (_stream, _) = silent.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let (rude, rude_port) = listener().await;
    tokio::spawn(async move {
        let (stream, _) = rude.accept().await.unwrap();
        drop(stream);
    });

    // Act
    let silent = connect(
        &url("wss", silent_port),
        &key(),
        Interface::Ga,
        Duration::from_millis(150),
    )
    .await;
    let rude = connect(&url("wss", rude_port), &key(), Interface::Ga, SECOND).await;

    // Assert
    assert!(matches!(silent, Err(RealtimeError::Timeout)), "{silent:?}");
    assert!(matches!(rude, Err(RealtimeError::Connect(_))), "{rude:?}");
}

#[tokio::test]
async fn it_should_report_a_connection_refused_as_a_connect_error() {
    let (listener, port) = listener().await;
    drop(listener);

    let result = connect(&url("ws", port), &key(), Interface::Ga, SECOND).await;

    assert!(
        matches!(result, Err(RealtimeError::Connect(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn it_should_refuse_urls_and_keys_it_cannot_send() {
    let http = Url::parse("https://api.openai.com/v1/realtime").unwrap();
    assert!(matches!(
        connect(&http, &key(), Interface::Ga, SECOND).await,
        Err(RealtimeError::Invalid(_))
    ));
    let bad_key = SecretString::from("sk-\nnewline");
    assert!(matches!(
        connect(&url("ws", 9), &bad_key, Interface::Ga, SECOND).await,
        Err(RealtimeError::Invalid(_))
    ));
}

#[test]
fn it_should_build_the_tls_client_once_with_an_explicit_provider() {
    let first = tls_config().unwrap();
    let second = tls_config().unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &second), "built once");
    assert!(
        first.crypto_provider().cipher_suites.len() > 1,
        "ring's suites are there"
    );
}
