//! The media stream's handshake as an HTTP server sees it: WebSocket upgrades are taken off
//! actix-web's routes (the bridge runs on the upgraded socket itself), so what other paths,
//! plain requests and early frames get is checked here.

use infrastructure::twilio::signature::{Algorithm, Body, Signer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite;

use super::*;

#[tokio::test]
async fn it_should_answer_a_websocket_upgrade_to_any_other_path_with_the_404_of_the_api() {
    let rig = Rig::start(Behaviour::default()).await;
    let url = format!("{}/api/v1/calls", rig.app.address.replacen("http", "ws", 1));
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404);
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["code"], "no_route", "{body}");
        }
        Err(other) => panic!("refused otherwise: {other}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
    assert_eq!(rig.sessions.live(), 0);
    // The server still serves plain requests on new connections.
    let health = reqwest::get(format!("{}/health/live", rig.app.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn it_should_refuse_a_media_stream_request_that_is_not_an_upgrade() {
    let rig = Rig::start(Behaviour::default()).await;
    let url = format!("{}/twilio/media-stream", rig.app.address);
    let client = reqwest::Client::new();

    let unsigned = client.get(&url).send().await.unwrap();
    assert_eq!(unsigned.status(), 403);
    let body: Value = unsigned.json().await.unwrap();
    assert_eq!(body["code"], "invalid_twilio_signature", "{body}");

    let public = url.replacen("http", "ws", 1);
    let signature = sign(&public);
    let signed = client
        .get(&url)
        .header("X-Twilio-Signature", signature)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 400);
    assert_eq!(rig.openai.connection_attempts(), 0);
    assert_eq!(rig.sessions.live(), 0);
}

/// Twilio may send its first frames in the same packet as the handshake: they were read with
/// the request and must reach the bridge.
#[tokio::test]
async fn it_should_read_the_frames_that_came_with_the_handshake() {
    let rig = Rig::start(Behaviour::default()).await;
    let (sid, _, _) = rig.incoming_call().await;
    let options = rig.stream_options(&sid);
    let address = rig.app.address.trim_start_matches("http://").to_owned();

    let mut bytes = format!(
        "GET /twilio/media-stream HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nX-Twilio-Signature: {}\r\n\r\n",
        sign(&options.server_ws_url)
    )
    .into_bytes();
    let connected = json!({"event": "connected", "protocol": "Call", "version": "1.0.0"});
    let start = json!({
        "event": "start",
        "sequenceNumber": "1",
        "start": {
            "accountSid": options.account_sid,
            "streamSid": options.stream_sid,
            "callSid": sid,
            "tracks": ["inbound"],
            "customParameters": {"call_sid": sid},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        },
        "streamSid": options.stream_sid,
    });
    bytes.extend(masked_text_frame(&connected.to_string()));
    bytes.extend(masked_text_frame(&start.to_string()));

    let mut socket = TcpStream::connect(&address).await.unwrap();
    socket.write_all(&bytes).await.unwrap();
    let mut response = vec![0; 1024];
    let read = socket.read(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response[..read]);
    assert!(
        response.starts_with("HTTP/1.1 101"),
        "not switched: {response}"
    );
    assert!(
        response.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "wrong accept key: {response}"
    );

    // The bridge saw `start`: it opened the agent's session for this call.
    rig.openai.session(0, WAIT).await;
    rig.wait_event(&sid, "AiSessionStarted").await;
    drop(socket);
    let events = rig.wait_event(&sid, "AiSessionEnded").await;
    let reason = payload_of(&events, "AiSessionEnded")["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.starts_with("twilio"), "{reason}");
    rig.wait_no_live_sessions().await;
}

/// Twilio's signature of the handshake to `url`.
fn sign(url: &str) -> String {
    Signer::new(support::TEST_AUTH_TOKEN.to_owned().into()).sign(
        Algorithm::HmacSha1,
        url,
        &Body::None,
    )
}

/// One masked text frame, as a client sends it (RFC 6455 §5.2).
fn masked_text_frame(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    let mut frame = vec![0x81];
    match u16::try_from(payload.len()) {
        Ok(length) if length < 126 => frame.push(0x80 | u8::try_from(length).unwrap()),
        Ok(length) => {
            frame.push(0x80 | 126);
            frame.extend(length.to_be_bytes());
        }
        Err(_) => panic!("frame too long for this test"),
    }
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    frame.extend(mask);
    frame.extend(
        payload
            .iter()
            .enumerate()
            .map(|(index, byte)| byte ^ mask[index % 4]),
    );
    frame
}
