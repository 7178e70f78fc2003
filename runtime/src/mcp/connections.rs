//! The HTTP listener's own defences, before any request is authenticated:
//! a cap on connections in total and per client address (over it, a quick
//! 503 and the connection is closed), and a deadline for a request's head,
//! which is also the idle timeout of a kept-alive connection. So a client
//! without the token cannot hold the server's file descriptors by opening
//! connections, trickling headers or going quiet.
//!
//! axum's `serve` has no such knobs, so connections are accepted here and
//! served with hyper's HTTP/1 connection builder.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// How many connections the listener keeps, and for how long an idle one.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionPolicy {
    /// Connections open at once, from everyone.
    pub max_connections: usize,
    /// Connections open at once from one client address.
    pub max_per_client: usize,
    /// Time for a request's head to arrive once the connection waits for
    /// one: on a new connection, and between requests on a kept-alive one.
    pub header_timeout: Duration,
}

/// Counts open connections, in total and per client address.
#[derive(Default)]
struct Admission {
    open: Mutex<OpenConnections>,
}

#[derive(Default)]
struct OpenConnections {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// One admitted connection; its count is returned when dropped.
struct Ticket {
    admission: Arc<Admission>,
    client: IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self.admission.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        open.total -= 1;
        if let Some(count) = open.per_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.per_client.remove(&self.client);
            }
        }
    }
}

impl Admission {
    /// A ticket for one more connection from `client`, or `None` over a cap.
    fn admit(self: &Arc<Self>, client: IpAddr, policy: &ConnectionPolicy) -> Option<Ticket> {
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let from_client = open.per_client.get(&client).copied().unwrap_or(0);
        if open.total >= policy.max_connections || from_client >= policy.max_per_client {
            return None;
        }
        open.total += 1;
        *open.per_client.entry(client).or_insert(0) += 1;
        Some(Ticket { admission: self.clone(), client })
    }
}

/// What a connection over a cap is told.
const OVER_CAPACITY_BODY: &str =
    "pcapsule: busy: too many open connections (--max-connections, --max-connections-per-client); retry later\n";

/// The whole answer to a connection over a cap: it is written once without
/// waiting, and the connection closed; a client that does not read it loses
/// it rather than holding anything here.
static OVER_CAPACITY: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\n\r\n{OVER_CAPACITY_BODY}",
        OVER_CAPACITY_BODY.len()
    )
    .into_bytes()
});

/// Serves `app` on `listener` until `shutdown`, under `policy`.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    policy: ConnectionPolicy,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let admission = Arc::new(Admission::default());
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors (or another passing failure): wait
                // for connections to close instead of spinning.
                tracing::warn!("accepting an HTTP connection failed: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match admission.admit(peer.ip(), &policy) {
            Some(ticket) => {
                connections.spawn(serve_connection(stream, peer, app.clone(), policy, ticket, shutdown.clone()));
            }
            None => refuse(stream, peer),
        }
    }
    connections.close();
    connections.wait().await;
    Ok(())
}

fn refuse(stream: TcpStream, peer: SocketAddr) {
    tracing::debug!(%peer, "HTTP connection over the cap refused");
    // Never blocks: a fresh socket's send buffer takes the whole answer.
    let _ = stream.try_write(&OVER_CAPACITY);
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: axum::Router,
    policy: ConnectionPolicy,
    ticket: Ticket,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(policy.header_timeout);
    let mut connection = Box::pin(builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app)));
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.as_mut().await
        }
    };
    // The place is freed before the socket closes, so a client that sees
    // the close and connects again is never refused for it.
    drop(ticket);
    drop(connection);
    if let Err(error) = result {
        // Timeouts and clients that hang up are routine; nothing to act on.
        tracing::debug!(%peer, "HTTP connection ended: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_connections: usize, max_per_client: usize) -> ConnectionPolicy {
        ConnectionPolicy { max_connections, max_per_client, header_timeout: Duration::from_secs(1) }
    }

    #[test]
    fn connections_are_capped_per_client_and_in_total() {
        let admission = Arc::new(Admission::default());
        let policy = policy(3, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let c: IpAddr = "192.0.2.3".parse().unwrap();
        let a1 = admission.admit(a, &policy).expect("first from a");
        let _a2 = admission.admit(a, &policy).expect("second from a");
        assert!(admission.admit(a, &policy).is_none(), "a third from one client is over its cap");
        let _b1 = admission.admit(b, &policy).expect("b has its own count");
        assert!(admission.admit(c, &policy).is_none(), "the total cap holds for a new client too");
        drop(a1);
        let _a3 = admission.admit(a, &policy).expect("a closed connection frees its place");
        let open = admission.open.lock().unwrap();
        assert_eq!(open.total, 3);
    }

    #[test]
    fn closed_connections_leave_no_entry_behind() {
        let admission = Arc::new(Admission::default());
        let policy = policy(1000, 1000);
        let tickets: Vec<Ticket> =
            (0..500u32).map(|i| admission.admit(IpAddr::from(i.to_be_bytes()), &policy).unwrap()).collect();
        assert_eq!(admission.open.lock().unwrap().per_client.len(), 500);
        drop(tickets);
        let open = admission.open.lock().unwrap();
        assert_eq!((open.total, open.per_client.len()), (0, 0));
    }

    #[test]
    fn the_refusal_is_well_formed_http() {
        let text = std::str::from_utf8(&OVER_CAPACITY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap();
        assert_eq!(length, body.len());
        assert!(head.starts_with("HTTP/1.1 503 "));
    }
}
