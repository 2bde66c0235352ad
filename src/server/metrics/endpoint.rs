//! `GET /metrics` over plain HTTP/1.1 on its own port: one request per connection, read
//! within a size and time bound, answered and closed.

use super::{CONTENT_TYPE, RequestMetrics, render};
use crate::service::Services;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Longest request head read; a scraper's is a few hundred bytes.
const MAX_REQUEST: usize = 8 * 1024;
/// Time a client has to send its request, and to take the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Scrapes served at once; more wait for a slot.
const CONNECTIONS: usize = 16;

/// Binds `addr` and serves scrapes until the returned task is aborted.
pub async fn serve_metrics(
    addr: SocketAddr,
    requests: Arc<RequestMetrics>,
    services: Arc<Services>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let slots = Arc::new(Semaphore::new(CONNECTIONS));
    let task = tokio::spawn(async move {
        loop {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let (conn, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "metrics: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let requests = requests.clone();
            let services = services.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let _ =
                    tokio::time::timeout(2 * IO_TIMEOUT, answer(conn, &requests, &services)).await;
            });
        }
    });
    Ok((local, task))
}

async fn answer(
    mut conn: TcpStream,
    requests: &RequestMetrics,
    services: &Services,
) -> std::io::Result<()> {
    let Ok(Some(head)) = tokio::time::timeout(IO_TIMEOUT, read_head(&mut conn)).await? else {
        return write(&mut conn, "400 Bad Request", "text/plain", "bad request\n").await;
    };
    if is_scrape(&head) {
        let scrape = super::scrape(services).await;
        let body = render(requests, services.verification.verdict_counts(), &scrape);
        write(&mut conn, "200 OK", CONTENT_TYPE, &body).await
    } else {
        write(&mut conn, "404 Not Found", "text/plain", "not found\n").await
    }
}

/// Reads up to the blank line ending the head; None when it is too long or cut short.
async fn read_head(conn: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Ok(Some(buf));
        }
        if buf.len() > MAX_REQUEST {
            return Ok(None);
        }
    }
}

/// `GET /metrics` (a query string is ignored), HTTP/1.0 or 1.1.
fn is_scrape(head: &[u8]) -> bool {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = std::str::from_utf8(line).unwrap_or_default().trim_end();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let path = target.split('?').next().unwrap_or_default();
    method == "GET" && path == "/metrics" && version.starts_with("HTTP/1.")
}

async fn write(
    conn: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    tokio::time::timeout(IO_TIMEOUT, async {
        conn.write_all(head.as_bytes()).await?;
        conn.write_all(body.as_bytes()).await?;
        conn.shutdown().await
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::is_scrape;

    #[test]
    fn only_get_metrics_is_a_scrape() {
        assert!(is_scrape(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(is_scrape(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"));
        assert!(!is_scrape(b"GET / HTTP/1.1\r\n\r\n"));
        assert!(!is_scrape(b"POST /metrics HTTP/1.1\r\n\r\n"));
        assert!(!is_scrape(b"GET /metricsx HTTP/1.1\r\n\r\n"));
        assert!(!is_scrape(b"GET /metrics\r\n\r\n"));
    }
}
