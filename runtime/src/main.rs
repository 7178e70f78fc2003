//! `pcapsule`: a hardened MCP server for packet-capture analysis.
//!
//! Layout: [`sandbox`] runs analyzer components under wasmtime with limits;
//! [`registry`] turns their self-descriptions into MCP tools and prompts;
//! [`input`] opens captures (confined paths, guarded downloads); [`service`]
//! runs one tool call end to end, [`one_pass`] several over one read,
//! [`list_captures`] lists what may be read;
//! [`guide`] says which tool answers what; [`mcp`] serves it all over stdio
//! or HTTP; [`logging`] keeps the server log one line per event; this file
//! is the command line.

mod config;
mod error_kind;
mod guide;
mod input;
mod list_captures;
mod logging;
mod mcp;
mod one_pass;
mod registry;
mod sandbox;
mod service;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Map, Value, json};

use crate::config::ConfigFile;
use crate::input::{CaptureInputs, DownloadPolicy};
use crate::registry::Registry;
use crate::sandbox::limits::LimitSettings;
use crate::sandbox::{ComponentCache, Sandbox};
use crate::service::{CallObserver, ToolService};

/// A hardened MCP server for packet-capture analysis. Every byte of a capture
/// is parsed inside a WebAssembly sandbox with fuel, memory and time limits.
///
/// Without a subcommand it serves MCP (like `pcapsule serve`), so mcpcap's
/// flags work unchanged: `pcapsule --modules dns,tcp --transport http --port 8080`.
#[derive(Parser)]
#[command(name = "pcapsule", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve MCP over stdio (default) or streamable HTTP.
    Serve {
        #[command(flatten)]
        serve: ServeArgs,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Run a tool on one capture and print its JSON result; with several
    /// tools (`dns,tcp_connections` or `all`) the capture is read once for all.
    Analyze {
        /// A tool name (`analyze_capinfos`), an analyzer with one tool
        /// (`capinfos`), a comma-separated list of them, or `all`.
        tool: String,
        /// The capture: a path (inside the allowed directories) or an http(s) URL.
        capture: String,
        /// The tool's parameters as a JSON object, e.g. '{"max_packets": 1000}';
        /// with several tools, an object keyed by tool name.
        params: Option<String>,
        /// Show a progress bar on the terminal (default: when stderr is a terminal).
        #[arg(long, overrides_with = "no_progress")]
        progress: bool,
        /// Never show a progress bar.
        #[arg(long)]
        no_progress: bool,
        #[command(flatten)]
        selection: SelectionArgs,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// List analyzers, their tools and prompts, and the limits in force.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Print the guide to which tool answers which question (the MCP
        /// resource pcapsule://guide) instead.
        #[arg(long, conflicts_with = "json")]
        guide: bool,
        /// Print one prompt's text (as MCP clients get it).
        #[arg(long, value_name = "NAME", conflicts_with_all = ["json", "guide"])]
        prompt: Option<String>,
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// MCP transport.
    #[arg(long, value_enum, default_value_t = Transport::Stdio)]
    transport: Transport,
    /// Address to bind for HTTP.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port for HTTP.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Browser origin allowed to call the HTTP endpoint (repeatable, e.g.
    /// http://localhost:6274). Requests with any other Origin header are refused
    /// (the MCP spec's defence against DNS rebinding); loopback origins are
    /// always allowed, and clients that send no Origin are not affected.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Serve HTTP on a non-loopback address without a bearer token (unsafe
    /// outside a trusted network). Otherwise the token comes from
    /// PCAPSULE_AUTH_TOKEN or --auth-token-file.
    #[arg(long)]
    allow_unauthenticated_http: bool,
    /// MCP sessions open at once over HTTP; a client opening one more is
    /// told the server is busy (503) and when to retry.
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_sessions: usize,
    /// Close an HTTP session after this many seconds without a request.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    session_idle_secs: u64,
    /// HTTP connections open at once; one more is answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = 512)]
    max_connections: usize,
    /// HTTP connections open at once from one client address.
    #[arg(long, value_name = "N", default_value_t = 128)]
    max_connections_per_client: usize,
    /// Seconds an HTTP connection may take to send a request's head (the
    /// request line and headers); also how long a kept-alive connection may
    /// stay idle between requests.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    http_header_timeout_secs: u64,
    /// Seconds an HTTP request's body may take to arrive once its head has.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    http_body_timeout_secs: u64,
    /// File holding the HTTP bearer token (never pass a token as an argument:
    /// other users can read process arguments).
    #[arg(long, value_name = "FILE")]
    auth_token_file: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transport {
    Stdio,
    Http,
}

#[derive(Args, Clone, Default)]
struct CommonArgs {
    /// Directory local captures may be read from (repeatable). Paths are
    /// confined to these, symlinks included. A server started without one
    /// reads no local files (URLs still work); `pcapsule analyze` without one
    /// may read the folder of the capture it names.
    #[arg(long = "allow-dir", value_name = "DIR")]
    allow_dirs: Vec<PathBuf>,
    /// Open captures that have more than one hard link. A hard link is a
    /// second name that may point at a file outside the allowed directories,
    /// so such files are refused unless every name may be read.
    #[arg(long)]
    allow_hardlinks: bool,
    /// Only offer these analyzers (comma-separated), e.g. dns,tcp.
    #[arg(long, value_delimiter = ',')]
    modules: Option<Vec<String>>,
    /// Analyze at most this many packets per call (a tool's own max_packets can only lower it).
    #[arg(long)]
    max_packets: Option<u64>,
    /// Load additional analyzer components (*.wasm) from this directory.
    #[arg(long, value_name = "DIR")]
    analyzers_dir: Option<PathBuf>,
    /// TOML config file (limits, allowed directories, downloads).
    #[arg(long, value_name = "FILE", env = "PCAPSULE_CONFIG")]
    config: Option<PathBuf>,
    /// Set a limit for one analyzer, or for all with `*`: NAME.FIELD=VALUE
    /// with FIELD one of fuel, memory_mb, wall_clock_secs, result_kb
    /// (e.g. --limit tcp.memory_mb=512 --limit '*.wall_clock_secs=30').
    #[arg(long = "limit", value_name = "NAME.FIELD=VALUE")]
    limits: Vec<String>,
    /// Largest capture to download from a URL, in MiB.
    #[arg(long, value_name = "MIB")]
    max_download_mb: Option<u64>,
    /// Time allowed for a whole download, in seconds.
    #[arg(long, value_name = "SECS")]
    download_timeout_secs: Option<u64>,
    /// Downloads running at once (default 4); more get a "busy, retry"
    /// error. A download holds no analysis slot while it runs.
    #[arg(long, value_name = "N")]
    max_concurrent_downloads: Option<usize>,
    /// Allow URLs that reach loopback, private or link-local addresses
    /// (for trusted internal hosts only).
    #[arg(long)]
    allow_private_urls: bool,
    /// Analyses allowed to run at once; more get a "busy, retry" error
    /// (default: the number of CPUs, at least 2).
    #[arg(long, value_name = "N")]
    max_concurrent_calls: Option<usize>,
    /// Where compiled analyzers are cached (default: ~/.cache/pcapsule).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile analyzers at every start instead of caching them.
    #[arg(long)]
    no_cache: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pcapsule: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pcapsule: {}", logging::escape_controls(format!("{e:#}").as_bytes()));
            ExitCode::from(2)
        }
    }
}

/// `pcapsule analyze`'s selection flags: the `time_from`, `time_to` and
/// `filter` parameters every tool takes, for all the tools of the command.
#[derive(clap::Args, Debug, Default)]
struct SelectionArgs {
    /// Only packets this filter selects, tcpdump-style: e.g. 'host 10.0.0.5 and (udp port 53 or tcp port 443)'.
    #[arg(long)]
    filter: Option<String>,
    /// Only packets captured at or after this time: RFC 3339 (2024-05-01T12:00:00Z) or epoch seconds.
    #[arg(long, value_name = "TIME")]
    time_from: Option<String>,
    /// Only packets captured at or before this time: RFC 3339 or epoch seconds.
    #[arg(long, value_name = "TIME")]
    time_to: Option<String>,
}

impl SelectionArgs {
    /// The flags given, as tool arguments (the tools parse and check them).
    fn into_arguments(self) -> Map<String, Value> {
        [("filter", self.filter), ("time_from", self.time_from), ("time_to", self.time_to)]
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_string(), Value::String(value?))))
            .collect()
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        None => serve(cli.serve, cli.common).await,
        Some(Command::Serve { serve: s, common }) => serve(s, common).await,
        Some(Command::Analyze { tool, capture, params, progress, no_progress, selection, common }) => {
            let bar = if no_progress {
                Some(false)
            } else if progress {
                Some(true)
            } else {
                None
            };
            analyze(&tool, &capture, params, selection, bar, common).await
        }
        Some(Command::List { json, guide, prompt, common }) => list(ListFormat::new(json, guide, prompt), common).await,
    }
}

/// Builds the service from the config file and the command line;
/// `default_dir` is allowed when neither names an allowed directory.
async fn build_service(common: &CommonArgs, default_dir: Option<PathBuf>) -> Result<Arc<ToolService>> {
    let file = match &common.config {
        Some(path) => ConfigFile::read(path)?,
        None => ConfigFile::default(),
    };
    let mut limits = LimitSettings { all: file.global_limits(), per_analyzer: file.limits.per_analyzer.clone() };
    for setting in &common.limits {
        apply_limit_flag(&mut limits, setting)?;
    }
    let mut allow_dirs = if common.allow_dirs.is_empty() { file.allow_dirs.clone() } else { common.allow_dirs.clone() };
    // Never the current directory by default: MCP clients often start
    // servers from `/` or a home directory.
    if allow_dirs.is_empty() {
        allow_dirs.extend(default_dir);
    }
    let allow_hardlinks = common.allow_hardlinks || file.allow_hardlinks.unwrap_or(false);
    let mut download = DownloadPolicy::default();
    if let Some(mb) = common.max_download_mb.or(file.download.max_mb) {
        download.max_bytes = mb.saturating_mul(1024 * 1024);
    }
    if let Some(secs) = common.download_timeout_secs.or(file.download.timeout_secs) {
        download.total_timeout = Duration::from_secs(secs);
    }
    download.allow_private_addresses = common.allow_private_urls || file.download.allow_private.unwrap_or(false);
    if let Some(n) = common.max_concurrent_downloads.or(file.download.max_concurrent) {
        download.max_concurrent = n.max(1);
    }

    let cache = if common.no_cache {
        None
    } else {
        let dir = common.cache_dir.clone().or_else(ComponentCache::default_dir);
        match dir.map(|d| ComponentCache::open(&d)) {
            Some(Ok(cache)) => Some(cache),
            Some(Err(e)) => {
                tracing::warn!("not caching compiled analyzers: {e:#}");
                None
            }
            None => None,
        }
    };
    let sandbox = Sandbox::new(cache)?;
    let modules = common.modules.clone().or(file.modules.clone());
    let analyzers_dir = common.analyzers_dir.clone().or(file.analyzers_dir.clone());
    let registry = Registry::load(&sandbox, analyzers_dir.as_deref(), modules.as_deref()).await?;
    // A limit for an analyzer that does not exist is a typo that would
    // otherwise leave the analyzer it meant on the defaults.
    for name in limits.per_analyzer.keys() {
        if !registry.found.contains(name) {
            bail!(
                "limits are set for an analyzer named `{name}` (--limit {name}.FIELD=... or [limits.{name}]), but the \
                 analyzers here are: {}",
                registry.found.join(", ")
            );
        }
    }
    let inputs = CaptureInputs::new(&allow_dirs, allow_hardlinks, download)?;
    Ok(Arc::new(ToolService {
        sandbox,
        registry,
        inputs,
        limits,
        max_packets: common.max_packets.or(file.max_packets),
        running: tokio::sync::Semaphore::new(
            common.max_concurrent_calls.or(file.max_concurrent_calls).unwrap_or_else(default_concurrency).max(1),
        ),
    }))
}

fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).max(2)
}

/// Parses `NAME.FIELD=VALUE` (`*` for all analyzers).
fn apply_limit_flag(limits: &mut LimitSettings, setting: &str) -> Result<()> {
    let usage = || format!("--limit {setting}: expected NAME.FIELD=VALUE, e.g. tcp.memory_mb=512");
    let (target, value) = setting.split_once('=').with_context(usage)?;
    let (name, field) = target.rsplit_once('.').with_context(usage)?;
    let value: u64 =
        value.trim().parse().with_context(|| format!("--limit {setting}: the value must be a whole number"))?;
    let overrides =
        if name == "*" { &mut limits.all } else { limits.per_analyzer.entry(name.to_string()).or_default() };
    overrides.set(field, value)
}

async fn serve(args: ServeArgs, common: CommonArgs) -> Result<ExitCode> {
    let service = build_service(&common, None).await?;
    if service.inputs.allowed_dirs().is_empty() {
        tracing::warn!(
            "no allowed directory (--allow-dir DIR, or allow_dirs in the config file): local captures are refused, \
             only http(s) URLs can be analyzed"
        );
    }
    match args.transport {
        Transport::Stdio => mcp::serve_stdio(service).await?,
        Transport::Http => {
            let token = auth_token(&args)?;
            let policy = mcp::HttpPolicy {
                token,
                allowed_origins: args.allow_origins.clone(),
                max_sessions: args.max_sessions.max(1),
                session_idle: Duration::from_secs(args.session_idle_secs.max(1)),
                connections: mcp::ConnectionPolicy {
                    max_connections: args.max_connections.max(1),
                    max_per_client: args.max_connections_per_client.max(1),
                    header_timeout: Duration::from_secs(args.http_header_timeout_secs.max(1)),
                },
                body_timeout: Duration::from_secs(args.http_body_timeout_secs.max(1)),
            };
            mcp::serve_http(service, &args.host, args.port, policy, args.allow_unauthenticated_http).await?
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The HTTP bearer token: from `--auth-token-file`, else `PCAPSULE_AUTH_TOKEN`
/// (or mcpcap's `MCPCAP_AUTH_TOKEN`).
fn auth_token(args: &ServeArgs) -> Result<Option<String>> {
    let token = match &args.auth_token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading --auth-token-file {}", path.display()))?
                .trim()
                .to_string(),
        ),
        None => std::env::var("PCAPSULE_AUTH_TOKEN").or_else(|_| std::env::var("MCPCAP_AUTH_TOKEN")).ok(),
    };
    match token {
        Some(t) if t.is_empty() => bail!("the HTTP bearer token is empty"),
        Some(t) if t.len() < 16 => bail!("the HTTP bearer token is too short: use at least 16 random characters"),
        other => Ok(other),
    }
}

async fn analyze(
    tools: &str,
    capture: &str,
    params: Option<String>,
    selection: SelectionArgs,
    progress_bar: Option<bool>,
    common: CommonArgs,
) -> Result<ExitCode> {
    // The capture is named on this command line by whoever runs it, so its
    // own folder may be read when no directory is configured.
    let is_url = capture.contains("://");
    let capture_dir = (!is_url)
        .then(|| std::path::absolute(capture).ok()?.parent().map(PathBuf::from))
        .flatten()
        .filter(|dir| dir.is_dir());
    let service = build_service(&common, capture_dir).await?;
    let params: Map<String, Value> = match params {
        Some(text) => match serde_json::from_str(&text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => bail!("the parameters must be a JSON object, e.g. '{{\"max_packets\": 1000}}'"),
            Err(e) => bail!("the parameters are not valid JSON: {e}"),
        },
        None => Map::new(),
    };
    let observer = CallObserver::default();
    let show_bar = progress_bar.unwrap_or_else(|| std::io::stderr().is_terminal());
    // Unknown names are usage errors (exit 2), found before anything runs.
    let several = tools == "all" || tools.contains(',');
    let names: Vec<String> = if tools == "all" {
        Vec::new()
    } else {
        tools.split(',').map(|t| resolve_tool(&service.registry, t.trim())).collect::<Result<_>>()?
    };
    let call = async {
        if several {
            let mut arguments = selection.into_arguments();
            if !names.is_empty() {
                arguments.insert("tools".into(), names.iter().cloned().map(Value::String).collect());
            }
            arguments.insert("params".into(), Value::Object(params));
            arguments.insert(registry::CAPTURE_PARAM.into(), Value::String(capture.to_string()));
            one_pass::ManyRequest::from_arguments(&service.registry, arguments)?.run(&service, &observer).await
        } else {
            let mut arguments = params;
            for (name, value) in selection.into_arguments() {
                arguments.entry(name).or_insert(value);
            }
            arguments.insert(registry::CAPTURE_PARAM.into(), Value::String(capture.to_string()));
            service.call_observed(&names[0], arguments, &observer).await
        }
    };
    let outcome = if show_bar {
        tokio::select! {
            outcome = call => outcome,
            _ = show_progress(&observer) => unreachable!("the progress bar never finishes on its own"),
        }
    } else {
        call.await
    };
    let mut stdout = std::io::stdout().lock();
    match outcome {
        Ok(result) => {
            let text = serde_json::to_string_pretty(&result)?;
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = writeln!(stdout, "{text}");
            let failed = result.get("errors").and_then(Value::as_object).is_some_and(|e| !e.is_empty());
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        Err(error) => {
            let _ = writeln!(stdout, "{}", serde_json::to_string_pretty(&error.to_json())?);
            eprintln!("pcapsule: {}", logging::escape_controls(error.to_string().as_bytes()));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A progress bar on stderr over the capture bytes analyzed; appears only
/// once an analysis has run for a moment, so quick ones print nothing.
/// Never completes: the caller drops it, which clears the bar.
async fn show_progress(observer: &CallObserver) {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    tokio::time::sleep(Duration::from_millis(300)).await;
    let total = observer.total.get().copied().unwrap_or(0);
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} analyzing [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    // Clears the line when the call ends and this future is dropped.
    struct ClearOnDrop(ProgressBar);
    impl Drop for ClearOnDrop {
        fn drop(&mut self) {
            self.0.finish_and_clear();
        }
    }
    let bar = ClearOnDrop(bar);
    loop {
        if let Some(total) = observer.total.get() {
            bar.0.set_length(*total);
        }
        bar.0.set_position(observer.progress.bytes());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A tool name, or an analyzer name when that analyzer has exactly one tool.
fn resolve_tool(registry: &Registry, wanted: &str) -> Result<String> {
    if registry.tool(wanted).is_some() {
        return Ok(wanted.to_string());
    }
    if let Some(index) = registry.analyzers.iter().position(|a| a.info.name == wanted) {
        let tools: Vec<&str> = registry.tools().filter(|t| t.analyzer == index).map(|t| t.name.as_str()).collect();
        return match tools.as_slice() {
            [only] => Ok(only.to_string()),
            many => bail!("the {wanted} analyzer has several tools, name one: {}", many.join(", ")),
        };
    }
    let tools: Vec<&str> = registry.tools().map(|t| t.name.as_str()).collect();
    bail!("no tool or analyzer named `{wanted}`; tools: {}", tools.join(", "))
}

/// What `pcapsule list` prints.
enum ListFormat {
    Text,
    Json,
    Guide,
    Prompt(String),
}

impl ListFormat {
    fn new(json: bool, guide: bool, prompt: Option<String>) -> Self {
        match (json, guide, prompt) {
            (_, _, Some(name)) => ListFormat::Prompt(name),
            (_, true, None) => ListFormat::Guide,
            (true, false, None) => ListFormat::Json,
            (false, false, None) => ListFormat::Text,
        }
    }
}

async fn list(format: ListFormat, common: CommonArgs) -> Result<ExitCode> {
    let service = build_service(&common, None).await?;
    let registry = &service.registry;
    let as_json = match format {
        ListFormat::Guide => {
            let _ = write!(std::io::stdout().lock(), "{}", guide::guide(registry));
            return Ok(ExitCode::SUCCESS);
        }
        ListFormat::Prompt(name) => {
            let Some(prompt) = registry.prompt(&name) else {
                let known: Vec<&str> = registry.prompts().map(|p| p.name.as_str()).collect();
                bail!("no prompt named `{name}`; prompts: {}", known.join(", "));
            };
            let _ = writeln!(std::io::stdout().lock(), "{}", prompt.text);
            return Ok(ExitCode::SUCCESS);
        }
        ListFormat::Json => true,
        ListFormat::Text => false,
    };
    let analyzers: Vec<Value> = registry
        .analyzers
        .iter()
        .enumerate()
        .map(|(index, a)| {
            json!({
                "name": a.info.name,
                "version": a.info.version,
                "description": a.info.description,
                "origin": a.origin,
                "limits": service.limits.for_analyzer(&a.info.name),
                "tools": registry.tools().filter(|t| t.analyzer == index)
                    .map(|t| json!({"name": t.name, "title": t.title, "description": t.description}))
                    .collect::<Vec<_>>(),
                "prompts": registry.prompts().filter(|p| p.analyzer == a.info.name)
                    .map(|p| json!({"name": p.name, "title": p.title, "description": p.description}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if as_json {
        let doc = json!({"analyzers": analyzers, "allowed_dirs": service.inputs.allowed_dirs(), "max_packets": service.max_packets});
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    let allowed = service.inputs.allowed_dirs();
    if allowed.is_empty() {
        let _ = writeln!(out, "allowed directories: none (local captures are refused; use --allow-dir DIR)");
    } else {
        let _ = writeln!(out, "allowed directories: {}", allowed.join(", "));
    }
    if let Some(max) = service.max_packets {
        let _ = writeln!(out, "max packets per call: {max}");
    }
    for a in &analyzers {
        let l = &a["limits"];
        let _ = writeln!(
            out,
            "\n{} {} ({}): {}\n  limits: fuel {}, memory {} MiB, wall clock {} s, result {} KiB",
            a["name"].as_str().unwrap_or_default(),
            a["version"].as_str().unwrap_or_default(),
            a["origin"].as_str().unwrap_or_default(),
            a["description"].as_str().unwrap_or_default(),
            l["fuel"],
            l["memory_bytes"].as_u64().unwrap_or(0) >> 20,
            l["wall_clock"],
            l["result_bytes"].as_u64().unwrap_or(0) >> 10,
        );
        for t in a["tools"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "  tool   {}: {}",
                t["name"].as_str().unwrap_or_default(),
                t["title"].as_str().unwrap_or_default()
            );
        }
        for p in a["prompts"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "  prompt {}: {}",
                p["name"].as_str().unwrap_or_default(),
                p["title"].as_str().unwrap_or_default()
            );
        }
    }
    let _ = writeln!(
        out,
        "\nanalyze_many runs several tools over one read (`pcapsule analyze all CAPTURE`).\n\
         `pcapsule list --guide` says which tool answers which question; `--prompt NAME` prints a prompt."
    );
    Ok(ExitCode::SUCCESS)
}
