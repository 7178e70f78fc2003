//! The shared guest library of pcapsule's analyzer components: everything that
//! touches capture bytes lives here or in an analyzer, inside the sandbox.
//!
//! - [`capture`]: streaming pcap/pcapng reader, constant memory.
//! - [`decode`]: link layer down to IP and UDP/TCP/ICMP, truncation flagged.
//! - [`driver`]: the one read loop: reader, packet path and budget drive an
//!   analyzer's [`driver::PacketHandler`]; the standard warnings and envelope.
//! - [`reassembly`]: the one TCP reassembler (in-order bytes, gaps, bounds).
//! - [`sctp`]: SCTP DATA chunks as whole user messages.
//! - [`streams`]: Wireshark's TCP and UDP stream numbers, which every tool
//!   reports and `follow_stream` takes.
//! - [`selection`]: `time_from`, `time_to` and `filter`, which every tool
//!   takes and the driver applies.
//! - [`conventions`]: paging, `max_packets`, warnings: the result shape shared
//!   by every analyzer.
//! - [`component`]: the [`Analyzer`] trait and the glue that makes an analyzer
//!   both a WIT component and a WASI command; use [`analyzer_component!`].

pub mod bounded;
pub mod capture;
pub mod component;
pub mod conventions;
pub mod decode;
pub mod driver;
pub mod fast_hash;
pub mod identify;
pub mod linktype;
pub mod reassembly;
pub mod sctp;
pub mod selection;
pub mod streams;
pub mod testing;
mod timestamp;

pub use capture::{CaptureError, CaptureReader, Packet};
pub use component::{Analyzer, Description, OnePass, PromptSpec, RunContext, ToolSpec, parse_params};
pub use timestamp::Timestamp;

/// wit-bindgen, for the bindings [`analyzer_component!`] generates in the
/// analyzer's crate (so that crate need not depend on it).
#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// Why a tool run produced no result; mirrors the WIT `run-error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// A parameter or the tool name is wrong.
    BadParams(String),
    /// Not a capture format this analyzer reads.
    UnsupportedFormat(String),
    /// Broken before any packet could be read.
    Malformed {
        /// Byte offset of the problem.
        offset: u64,
        /// What was wrong.
        message: String,
    },
    /// A bug or unexpected condition.
    Internal(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::BadParams(m) => write!(f, "bad parameters: {m}"),
            RunError::UnsupportedFormat(m) => write!(f, "unsupported capture format: {m}"),
            RunError::Malformed { offset, message } => write!(f, "malformed capture at byte {offset}: {message}"),
            RunError::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

/// Turns a type implementing [`Analyzer`] into a component: exports the WIT
/// interfaces of `wit/v0.3.0` and defines `main` for the WASI command face.
/// Call it once, at the root of the analyzer's `main.rs`:
/// `analyzer_component!(Dns)` exports `analyzer`;
/// `analyzer_component!(Tcp, one_pass)` also exports `one-pass` (the type
/// implements [`component::OnePass`]).
///
/// The bindings are generated here, in the analyzer's crate, because a
/// component exports exactly the interfaces of the world it is built for:
/// bindings generated once in this library would export the same world from
/// every analyzer. The conversions below are the only place WIT types meet
/// the library's.
#[macro_export]
macro_rules! analyzer_component {
    ($analyzer:ty) => {
        $crate::analyzer_component!(@component $analyzer, "analyzer-component", []);
    };
    ($analyzer:ty, one_pass) => {
        $crate::analyzer_component!(@component $analyzer, "one-pass-analyzer-component", ["one-pass"]);

        impl pcapsule_wit::exports::pcapsule::analyzer::one_pass::Guest for PcapsuleComponent {
            fn run_many(capture: wit::Capture, calls: Vec<wit::Call>) -> Vec<Result<String, wit::RunError>> {
                let calls: Vec<(&str, &str)> = calls.iter().map(|c| (c.tool.as_str(), c.params_json.as_str())).collect();
                $crate::component::run_many_on_stdin::<$analyzer>(&context(capture), &calls)
                    .into_iter()
                    .map(|outcome| outcome.map_err(run_error))
                    .collect()
            }
        }
    };
    (@component $analyzer:ty, $world:literal, [$($capability:literal)?]) => {
        mod pcapsule_wit {
            $crate::__wit_bindgen::generate!({
                path: "../../wit/v0.3.0",
                world: $world,
                runtime_path: "pcapsule_guest::__wit_bindgen::rt",
            });
        }

        use pcapsule_wit::exports::pcapsule::analyzer::analyzer as wit;

        struct PcapsuleComponent;

        impl wit::Guest for PcapsuleComponent {
            fn describe() -> wit::AnalyzerInfo {
                let d = <$analyzer as $crate::Analyzer>::describe();
                wit::AnalyzerInfo {
                    name: d.name.into(),
                    version: d.version.into(),
                    description: d.summary.into(),
                    tools: d
                        .tools
                        .into_iter()
                        .map(|t| wit::Tool {
                            name: t.name.into(),
                            title: t.title.into(),
                            description: t.description.into(),
                            params_schema: t.params_schema.to_string(),
                            result_schema: t.result_schema.to_string(),
                        })
                        .collect(),
                    prompts: d
                        .prompts
                        .into_iter()
                        .map(|p| wit::Prompt {
                            name: p.name.into(),
                            title: p.title.into(),
                            description: p.description.into(),
                            text: p.text.into(),
                        })
                        .collect(),
                }
            }

            fn run(capture: wit::Capture, call: wit::Call) -> Result<String, wit::RunError> {
                $crate::component::run_on_stdin::<$analyzer>(&context(capture), &call.tool, &call.params_json)
                    .map_err(run_error)
            }
        }

        fn context(capture: wit::Capture) -> $crate::RunContext {
            $crate::RunContext {
                capture_name: capture.name,
                capture_size: capture.size,
                max_packets: capture.max_packets,
                selection: Default::default(),
            }
        }

        fn run_error(error: $crate::RunError) -> wit::RunError {
            match error {
                $crate::RunError::BadParams(m) => wit::RunError::BadParams(m),
                $crate::RunError::UnsupportedFormat(m) => wit::RunError::UnsupportedFormat(m),
                $crate::RunError::Malformed { offset, message } => {
                    wit::RunError::MalformedCapture(wit::Malformed { offset, message })
                }
                $crate::RunError::Internal(m) => wit::RunError::Internal(m),
            }
        }

        pcapsule_wit::export!(PcapsuleComponent with_types_in pcapsule_wit);

        fn main() -> std::process::ExitCode {
            $crate::component::command_main::<$analyzer>(&[$($capability)?])
        }
    };
}
