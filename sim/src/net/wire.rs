//! The clients' side of the wire inside turmoil: one HTTP/1.1 request per
//! connection (`Connection: close`) and WebSocket connections, every wait
//! bounded, since a partition silently swallows segments.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use turmoil::net::TcpStream;

/// The server host's name and port.
pub const SERVER: &str = "server";
/// The port the server listens on.
pub const PORT: u16 = 8180;
/// The admin bearer token every simulated client presents: the clients
/// stand for trusted integrations (a widget backend, agent consoles), and
/// the server checks it on every request as it would any credential.
pub const ADMIN_TOKEN: &str = "sim-admin-token-0123456789";
/// A request with no answer by then is treated as lost.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request has no answer. Its effect on the server is unknown.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// No answer in time (a partition, a crashed server).
    #[error("timed out")]
    Timeout,
    /// The connection failed or was reset.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The answer was not HTTP.
    #[error("malformed response")]
    Malformed,
    /// The WebSocket handshake or stream failed.
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
}

/// A status and the JSON body (Null when there is none).
pub type Reply = (u16, Value);

/// Sends one request and reads the whole answer.
pub async fn call(method: &str, path: &str, body: Option<&Value>) -> Result<Reply, WireError> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {SERVER}\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut stream = TcpStream::connect((SERVER, PORT)).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, WireError>(response)
    };
    let response = timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| WireError::Timeout)??;
    parse(&response).ok_or(WireError::Malformed)
}

fn parse(response: &[u8]) -> Option<Reply> {
    let text = std::str::from_utf8(response).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// An open `/room` WebSocket.
pub struct Ws {
    stream: WebSocketStream<TcpStream>,
}

/// What waiting on a WebSocket gave.
pub enum Frame {
    /// A JSON text frame.
    Json(Value),
    /// Nothing within the wait.
    Quiet,
    /// The connection is gone.
    Closed,
}

impl Ws {
    /// Connects to `/room?type=customer_service&{query}`.
    pub async fn connect(query: &str) -> Result<Ws, WireError> {
        let url = format!("ws://{SERVER}:{PORT}/room?type=customer_service&{query}");
        let handshake = async {
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            let tcp = TcpStream::connect((SERVER, PORT)).await?;
            let mut request = url.into_client_request()?;
            let bearer = format!("Bearer {ADMIN_TOKEN}");
            let value = bearer.parse().map_err(|_| WireError::Malformed)?;
            request.headers_mut().insert("authorization", value);
            let (stream, _) = tokio_tungstenite::client_async(request, tcp).await?;
            Ok::<_, WireError>(Ws { stream })
        };
        timeout(REQUEST_TIMEOUT, handshake)
            .await
            .map_err(|_| WireError::Timeout)?
    }

    /// The next JSON frame, waiting at most `wait`.
    pub async fn next(&mut self, wait: Duration) -> Frame {
        loop {
            match timeout(wait, self.stream.next()).await {
                Err(_) => return Frame::Quiet,
                Ok(None | Some(Err(_))) => return Frame::Closed,
                Ok(Some(Ok(Message::Text(text)))) => {
                    return match serde_json::from_str(text.as_str()) {
                        Ok(v) => Frame::Json(v),
                        Err(_) => Frame::Closed,
                    }
                }
                Ok(Some(Ok(Message::Close(_)))) => return Frame::Closed,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Sends a JSON frame; false when the connection is gone.
    pub async fn send(&mut self, frame: &Value) -> bool {
        let send = self.stream.send(Message::Text(frame.to_string().into()));
        matches!(timeout(REQUEST_TIMEOUT, send).await, Ok(Ok(())))
    }
}
