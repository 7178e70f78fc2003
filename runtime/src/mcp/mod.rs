//! The MCP face: tools and prompts come from the registry (so from the
//! components' `describe`), tool calls go to the [`ToolService`]. Served over
//! stdio or streamable HTTP. A failed analysis is a tool result with
//! `isError` and a JSON body naming the problem; protocol errors are kept for
//! requests that cannot be routed at all (an unknown tool or prompt).

mod connections;
mod schemas;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams, GetPromptResponse,
    GetPromptResult, Implementation, JsonObject, ListPromptsResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ProgressNotificationParam, ProgressToken, Prompt, PromptArgument, PromptMessage,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, Role,
    ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{Peer, RequestContext};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};

use tokio_util::sync::CancellationToken;

use crate::guide::{GUIDE_URI, PROMPT_URI_PREFIX, SCHEMA_URI_PREFIX};
use crate::list_captures;
use crate::one_pass::{self, ManyRequest};
use crate::service::{CallObserver, ToolService};
pub use connections::ConnectionPolicy;

const INSTRUCTIONS: &str = "pcapsule analyzes packet captures (pcap/pcapng) inside a WebAssembly sandbox. \
Every tool takes `pcap_file`: a path inside the server's allowed directories (list_captures lists them; a bare \
file name works when one directory holds it) or an http(s) URL. Start with analyze_capinfos to see what a \
capture holds, then use the protocol tools. Results are summaries first; long \
per-packet lists are paged with `limit`/`offset` (follow `pagination.next_offset`). A failed call returns \
isError with {\"error\": {\"kind\", \"message\"}} saying what to change. analyze_many runs several tools over \
one read of a capture. The resource pcapsule://guide says which tool answers which question.";

/// The MCP server handler: a thin adapter over the shared [`ToolService`].
#[derive(Clone)]
pub struct PcapsuleMcp {
    service: Arc<ToolService>,
    tools: Arc<Vec<Tool>>,
    /// Each tool's result schema with its field descriptions, served as a
    /// resource; `tools` lists them bare ([`schemas`]).
    documented_schemas: Arc<BTreeMap<String, Arc<JsonObject>>>,
    /// Cancelled when the client is gone (stdio closed): every call still
    /// running then is stopped at once, since nobody will read its answer.
    client_gone: CancellationToken,
}

impl PcapsuleMcp {
    /// Builds the MCP tool list once from the registry.
    pub fn new(service: Arc<ToolService>) -> Self {
        let annotations = ToolAnnotations::new()
            .read_only(true)
            .destructive(false)
            .idempotent(true)
            // `pcap_file` may be a URL on the open web.
            .open_world(true);
        let mut tools: Vec<Tool> = service
            .registry
            .tools()
            .map(|entry| {
                Tool::new(entry.name.clone(), entry.description.clone(), Arc::new(entry.input_schema.clone()))
                    .with_title(entry.title.clone())
                    .with_raw_output_schema(Arc::new(entry.output_schema.clone()))
                    .with_annotations(annotations.clone())
            })
            .collect();
        tools.push(
            Tool::new(list_captures::TOOL_NAME, list_captures::DESCRIPTION, Arc::new(list_captures::input_schema()))
                .with_title("Capture files this server may read")
                .with_raw_output_schema(Arc::new(list_captures::output_schema()))
                .with_annotations(
                    ToolAnnotations::new().read_only(true).destructive(false).idempotent(true).open_world(false),
                ),
        );
        tools.push(
            Tool::new(one_pass::TOOL_NAME, one_pass::DESCRIPTION, Arc::new(one_pass::input_schema(&service.registry)))
                .with_title("Several analyses in one pass")
                .with_raw_output_schema(Arc::new(one_pass::output_schema()))
                .with_annotations(annotations),
        );
        let mut documented_schemas = BTreeMap::new();
        for tool in &mut tools {
            if let Some(documented) = tool.output_schema.take() {
                tool.output_schema = Some(Arc::new(schemas::listed(&tool.name, &documented)));
                documented_schemas.insert(tool.name.to_string(), documented);
            }
        }
        PcapsuleMcp {
            service,
            tools: Arc::new(tools),
            documented_schemas: Arc::new(documented_schemas),
            client_gone: CancellationToken::new(),
        }
    }
}

impl ServerHandler for PcapsuleMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_prompts().enable_resources().build())
            .with_server_info(Implementation::new("pcapsule", env!("CARGO_PKG_VERSION")).with_title("pcapsule"))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if request.name == list_captures::TOOL_NAME {
            let arguments = request.arguments.unwrap_or_default();
            let outcome = list_captures::run(&self.service.inputs, arguments).await;
            return Ok(tool_result(&request.name, outcome).into());
        }
        let many = request.name == one_pass::TOOL_NAME;
        if !many && self.service.registry.tool(&request.name).is_none() {
            return Err(McpError::invalid_params(format!("unknown tool `{}`", request.name), None));
        }
        let arguments = request.arguments.unwrap_or_default();
        let observer = CallObserver::default();
        let call = async {
            if many {
                ManyRequest::from_arguments(&self.service.registry, arguments)?.run(&self.service, &observer).await
            } else {
                self.service.call_observed(&request.name, arguments, &observer).await
            }
        };
        let progress = report_progress(&observer, context.meta.get_progress_token(), &context.peer);
        // A cancelled request drops the call: the guest stops at its next
        // epoch tick and the store, stream and any download are freed.
        let outcome = tokio::select! {
            outcome = call => outcome,
            _ = progress => unreachable!("progress reporting never finishes on its own"),
            _ = context.ct.cancelled() => {
                tracing::info!(tool = %request.name, "call cancelled by the client");
                return Err(McpError::internal_error("the request was cancelled", None));
            }
            _ = self.client_gone.cancelled() => {
                tracing::info!(tool = %request.name, "call stopped: the client disconnected");
                return Err(McpError::internal_error("the client disconnected", None));
            }
        };
        Ok(tool_result(&request.name, outcome).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let prompts = self
            .service
            .registry
            .prompts()
            .map(|p| {
                let arguments = p
                    .arguments
                    .iter()
                    .map(|a| {
                        PromptArgument::new(a.name.clone()).with_description(a.description.clone()).with_required(false)
                    })
                    .collect();
                Prompt::new(p.name.clone(), Some(p.description.clone()), Some(arguments)).with_title(p.title.clone())
            })
            .collect();
        Ok(ListPromptsResult::with_all_items(prompts))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let Some(prompt) = self.service.registry.prompt(&request.name) else {
            let known: Vec<&str> = self.service.registry.prompts().map(|p| p.name.as_str()).collect();
            return Err(McpError::invalid_params(
                format!("unknown prompt `{}`; prompts: {}", request.name, known.join(", ")),
                None,
            ));
        };
        let text =
            prompt.render(request.arguments.as_ref()).map_err(|message| McpError::invalid_params(message, None))?;
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(prompt.description.clone())
            .into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(self.resources()))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let registry = &self.service.registry;
        let mut mime_type = "text/markdown";
        let text = if request.uri == GUIDE_URI {
            crate::guide::guide(registry)
        } else if let Some(schema) =
            request.uri.strip_prefix(SCHEMA_URI_PREFIX).and_then(|tool| self.documented_schemas.get(tool))
        {
            mime_type = "application/schema+json";
            serde_json::to_string_pretty(schema.as_ref()).unwrap_or_default()
        } else if let Some(prompt) = request.uri.strip_prefix(PROMPT_URI_PREFIX).and_then(|name| registry.prompt(name))
        {
            format!("# {}\n\n{}\n\n{}\n", prompt.title, prompt.description, prompt.text)
        } else {
            let known: Vec<String> = self.resources().into_iter().map(|r| r.uri).collect();
            return Err(McpError::resource_not_found(
                format!("no resource `{}`; resources: {}", request.uri, known.join(", ")),
                None,
            ));
        };
        let contents = ResourceContents::text(text, request.uri).with_mime_type(mime_type);
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

/// A tool's outcome as an MCP result: the structured result, or the error
/// (logged) as JSON text.
fn tool_result(tool: &str, outcome: Result<serde_json::Value, crate::service::ToolError>) -> CallToolResult {
    match outcome {
        Ok(value) => CallToolResult::structured(value),
        Err(error) => {
            tracing::info!(tool = %tool, kind = error.kind.as_str(), "tool error: {}", error.message);
            // Text only: structuredContent must match the tool's
            // outputSchema, which describes results, not errors (the
            // MCP Inspector's client rejects a mismatch).
            CallToolResult::error(vec![ContentBlock::text(error.to_json().to_string())])
        }
    }
}

impl PcapsuleMcp {
    /// The guide, one document per prompt and one result schema per tool.
    fn resources(&self) -> Vec<Resource> {
        let mut resources = vec![
            Resource::new(GUIDE_URI, "guide")
                .with_title("Which pcapsule tool answers which question")
                .with_description("Every tool with what it answers and its parameters, and the prompts.")
                .with_mime_type("text/markdown"),
        ];
        for prompt in self.service.registry.prompts() {
            resources.push(
                Resource::new(format!("{PROMPT_URI_PREFIX}{}", prompt.name), prompt.name.clone())
                    .with_title(prompt.title.clone())
                    .with_description(prompt.description.clone())
                    .with_mime_type("text/markdown"),
            );
        }
        for tool in self.documented_schemas.keys() {
            resources.push(
                Resource::new(format!("{SCHEMA_URI_PREFIX}{tool}"), format!("{tool} result schema"))
                    .with_title(format!("What each field of {tool}'s result means"))
                    .with_description("The tool's output schema with every field described (JSON Schema).")
                    .with_mime_type("application/schema+json"),
            );
        }
        resources
    }
}

/// How often progress is reported: often enough to look alive, rarely enough
/// not to flood the client.
const PROGRESS_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Sends a progress notification (bytes streamed into the analyzer out of
/// the capture size) every interval while the call runs, when the client
/// asked for progress. Never completes: the caller drops it.
async fn report_progress(observer: &CallObserver, token: Option<ProgressToken>, peer: &Peer<RoleServer>) {
    let Some(token) = token else { return std::future::pending().await };
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(PROGRESS_INTERVAL).await;
        let done = observer.progress.bytes();
        if done == last {
            continue;
        }
        last = done;
        let mut note = ProgressNotificationParam::new(token.clone(), done as f64);
        if let Some(total) = observer.total.get() {
            note = note.with_total(*total as f64).with_message(format!("{done} of {total} capture bytes analyzed"));
        }
        if peer.notify_progress(note).await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Serves MCP on stdin/stdout until the client closes the stream; calls
/// still running then are stopped at once (rmcp alone would let them run
/// while it waits for their answers).
pub async fn serve_stdio(service: Arc<ToolService>) -> Result<()> {
    tracing::info!("serving MCP over stdio");
    let handler = PcapsuleMcp::new(service);
    let stdin = SignalsEnd { inner: tokio::io::stdin(), on_end: handler.client_gone.clone() };
    let running = handler.serve((stdin, tokio::io::stdout())).await.context("starting MCP over stdio")?;
    running.waiting().await.context("serving MCP over stdio")?;
    Ok(())
}

/// A reader that cancels `on_end` when its stream ends (or fails).
struct SignalsEnd<R> {
    inner: R,
    on_end: CancellationToken,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for SignalsEnd<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let ended = match &polled {
            std::task::Poll::Ready(Ok(())) => buf.filled().len() == before && buf.remaining() > 0,
            std::task::Poll::Ready(Err(_)) => true,
            std::task::Poll::Pending => false,
        };
        if ended {
            self.on_end.cancel();
        }
        polled
    }
}

/// Who may use the HTTP endpoint, and how much of it.
pub struct HttpPolicy {
    /// Required bearer token, if any.
    pub token: Option<String>,
    /// Browser origins allowed besides loopback ones (`--allow-origin`).
    pub allowed_origins: Vec<String>,
    /// MCP sessions open at once; a new one over this gets 503.
    pub max_sessions: usize,
    /// A session with no request for this long is closed.
    pub session_idle: Duration,
    /// Connections, and how long one may take to send a request head.
    pub connections: ConnectionPolicy,
    /// Time for a request's body to arrive once its head has.
    pub body_timeout: Duration,
}

/// The policy as the middleware checks it.
#[derive(Clone)]
struct HttpGuard {
    token: Option<Arc<String>>,
    allowed_origins: Arc<Vec<String>>,
    sessions: Arc<LocalSessionManager>,
    max_sessions: usize,
    opening: Arc<OpeningSessions>,
    body_timeout: Duration,
}

/// Session-opening requests in flight. rmcp adds a session to its table only
/// while it handles `initialize`, so counting the table alone would let
/// racing initializes all pass the limit; they count here until handled.
#[derive(Default)]
struct OpeningSessions {
    /// Serializes check-and-reserve, so two requests cannot take the last slot.
    admission: tokio::sync::Mutex<()>,
    in_flight: std::sync::atomic::AtomicUsize,
}

/// One reserved session slot; released when its request has been handled
/// (or dropped), by which time a created session is in rmcp's table.
struct OpeningSlot(Arc<OpeningSessions>);

impl Drop for OpeningSlot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl HttpGuard {
    /// Reserves a slot for a new session, or `None` when the limit is reached.
    /// A session being created is briefly counted twice (in rmcp's table and
    /// here): at the limit's edge a racing request may be told to retry, never
    /// let past it.
    async fn reserve_session(&self) -> Option<OpeningSlot> {
        use std::sync::atomic::Ordering;
        let _admission = self.opening.admission.lock().await;
        let open = self.sessions.sessions.read().await.len();
        if open + self.opening.in_flight.load(Ordering::Acquire) >= self.max_sessions {
            return None;
        }
        self.opening.in_flight.fetch_add(1, Ordering::AcqRel);
        Some(OpeningSlot(self.opening.clone()))
    }
}

/// Largest HTTP request body: MCP requests are small JSON documents.
const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// Serves MCP over streamable HTTP at `http://HOST:PORT/mcp` until Ctrl-C.
pub async fn serve_http(
    service: Arc<ToolService>,
    host: &str,
    port: u16,
    policy: HttpPolicy,
    allow_unauthenticated: bool,
) -> Result<()> {
    let listener =
        tokio::net::TcpListener::bind((host, port)).await.with_context(|| format!("binding {host}:{port}"))?;
    let addr = listener.local_addr()?;
    let loopback = addr.ip().is_loopback();
    if policy.token.is_none() && !loopback && !allow_unauthenticated {
        bail!(
            "refusing to serve HTTP on {addr} without authentication: set PCAPSULE_AUTH_TOKEN (or \
             --auth-token-file), bind to 127.0.0.1, or pass --allow-unauthenticated-http on a trusted network"
        );
    }
    let shutdown = CancellationToken::new();
    let authenticated = policy.token.is_some();
    let connections = policy.connections;
    let app = http_app(service, policy, host, shutdown.clone());
    tracing::info!(
        "serving MCP over HTTP at http://{addr}/mcp ({})",
        if authenticated { "bearer token required" } else { "no authentication" }
    );
    let signal = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        signal.cancel();
    });
    connections::serve(listener, app, connections, shutdown).await.context("serving HTTP")?;
    Ok(())
}

/// The HTTP application: `/mcp` behind the origin and bearer-token checks,
/// with request bodies read whole under a size cap and a deadline.
fn http_app(service: Arc<ToolService>, policy: HttpPolicy, host: &str, shutdown: CancellationToken) -> axum::Router {
    let handler = PcapsuleMcp::new(service);
    let mut config = StreamableHttpServerConfig::default().with_cancellation_token(shutdown.child_token());
    // rmcp checks the Host header against loopback names by default (the
    // DNS-rebinding defence); a server bound to another loopback address
    // (127.0.0.2) must accept that address too, and one bound elsewhere
    // must accept its name.
    if !is_loopback_name(host) {
        config = config.disable_allowed_hosts();
    } else if host != "localhost" {
        let mut allowed = config.allowed_hosts.clone();
        allowed.push(host.trim_start_matches('[').trim_end_matches(']').to_string());
        config = config.with_allowed_hosts(allowed);
    }
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(policy.session_idle);
    let sessions = Arc::new(sessions);
    let mcp: StreamableHttpService<PcapsuleMcp, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(handler.clone()), sessions.clone(), config);
    let origins = policy.allowed_origins.iter().map(|o| o.trim_end_matches('/').to_ascii_lowercase()).collect();
    let guard = HttpGuard {
        token: policy.token.map(Arc::new),
        allowed_origins: Arc::new(origins),
        sessions,
        max_sessions: policy.max_sessions,
        opening: Arc::default(),
        body_timeout: policy.body_timeout,
    };
    axum::Router::new().nest_service("/mcp", mcp).layer(axum::middleware::from_fn_with_state(guard, guard_request))
}

fn is_loopback_name(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a browser `Origin` may call: loopback origins and the allow-list.
fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    if allowed.contains(&origin) {
        return true;
    }
    let Ok(url) = url::Url::parse(&origin) else { return false };
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

async fn guard_request(State(guard): State<HttpGuard>, request: Request, next: Next) -> Response {
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origin_allowed(origin, &guard.allowed_origins) {
            return (
                StatusCode::FORBIDDEN,
                format!("pcapsule: origin {origin} is not allowed (start the server with --allow-origin {origin})\n"),
            )
                .into_response();
        }
    }
    if let Some(expected) = &guard.token {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "pcapsule: missing or wrong bearer token (Authorization: Bearer <PCAPSULE_AUTH_TOKEN>)\n",
            )
                .into_response();
        }
    }
    // The whole body is read before anything is reserved for the request,
    // so a body that trickles in holds no session slot, only its connection,
    // and that until the deadline.
    let request = match read_whole_body(request, guard.body_timeout).await {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    // A POST without a session id opens a session (it carries `initialize`).
    let opens_session =
        request.method() == axum::http::Method::POST && !request.headers().contains_key("mcp-session-id");
    // Held until the request has been handled, by when its session is in rmcp's table.
    let _slot = if opens_session {
        let Some(slot) = guard.reserve_session().await else { return sessions_busy(guard.max_sessions) };
        Some(slot)
    } else {
        None
    };
    let closes_session = request.method() == axum::http::Method::DELETE;
    let mut response = next.run(request).await;
    // rmcp answers a closed session with 202 Accepted; the MCP Python SDK
    // takes anything but 200 or 204 as a failed termination and logs it.
    if closes_session && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::OK;
    }
    response
}

/// `request` with its body read into memory, or the answer when the body is
/// too large (413, chunked or not) or too slow (408).
async fn read_whole_body(request: Request, deadline: Duration) -> Result<Request, Response> {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("pcapsule: the request body is over {MAX_REQUEST_BODY} bytes; MCP requests are small\n"),
        )
            .into_response()
    };
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_REQUEST_BODY as u64) {
        return Err(too_large());
    }
    let (parts, body) = request.into_parts();
    let limited = http_body_util::Limited::new(body, MAX_REQUEST_BODY);
    match tokio::time::timeout(deadline, http_body_util::BodyExt::collect(limited)).await {
        Ok(Ok(collected)) => Ok(Request::from_parts(parts, axum::body::Body::from(collected.to_bytes()))),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(error)) => {
            Err((StatusCode::BAD_REQUEST, format!("pcapsule: reading the request body failed: {error}\n"))
                .into_response())
        }
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            [(header::CONNECTION, "close")],
            format!("pcapsule: the request body did not arrive within {} s\n", deadline.as_secs_f64()),
        )
            .into_response()),
    }
}

fn sessions_busy(max_sessions: usize) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        format!(
            "pcapsule: busy: {max_sessions} MCP sessions are open, the most this server allows (--max-sessions); \
             retry later, or close idle sessions (HTTP DELETE /mcp with their Mcp-Session-Id)\n"
        ),
    )
        .into_response()
}

/// Compares without leaking where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let allowed = vec!["https://inspector.example".to_string()];
        for ok in [
            "http://localhost:6274",
            "http://127.0.0.1:3000",
            "http://[::1]:8080/",
            "https://inspector.example",
            "HTTPS://Inspector.Example/",
        ] {
            assert!(origin_allowed(ok, &allowed), "{ok}");
        }
        for bad in ["http://evil.example", "http://localhost.evil.example", "null", "", "http://10.0.0.1"] {
            assert!(!origin_allowed(bad, &allowed), "{bad}");
        }
    }

    #[tokio::test]
    async fn sessions_being_opened_count_against_the_limit() {
        let guard = HttpGuard {
            token: None,
            allowed_origins: Arc::default(),
            sessions: Arc::default(),
            max_sessions: 2,
            opening: Arc::default(),
            body_timeout: Duration::from_secs(1),
        };
        // Two initializes in flight, neither in rmcp's table yet: the limit
        // is reached all the same (counting the table alone would let a
        // third, and any number of racing ones, through).
        let first = guard.reserve_session().await.expect("a first slot");
        let _second = guard.reserve_session().await.expect("a second slot");
        assert!(guard.reserve_session().await.is_none(), "a third initialize in flight is refused");
        drop(first);
        assert!(guard.reserve_session().await.is_some(), "a finished request frees its slot");
    }

    #[test]
    fn tokens_compare_in_constant_time_and_exactly() {
        assert!(constant_time_eq(b"secret-token", b"secret-token"));
        assert!(!constant_time_eq(b"secret-token", b"secret-tokeN"));
        assert!(!constant_time_eq(b"secret", b"secret-token"));
    }
}
