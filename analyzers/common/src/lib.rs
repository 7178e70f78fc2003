//! The shared guest library of pcapsule's analyzer components: everything that
//! touches capture bytes lives here or in an analyzer, inside the sandbox.
//!
//! - [`capture`]: streaming pcap/pcapng reader, constant memory.
//! - [`decode`]: link layer down to IP and UDP/TCP/ICMP, truncation flagged.
//! - [`driver`]: the one read loop: reader, packet path and budget drive an
//!   analyzer's [`driver::PacketHandler`]; the standard warnings and envelope.
//! - [`reassembly`]: the one TCP reassembler (in-order bytes, gaps, bounds).
//! - [`sctp`]: SCTP DATA chunks as whole user messages.
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
pub mod linktype;
pub mod reassembly;
pub mod sctp;
pub mod testing;
mod timestamp;

pub use capture::{CaptureError, CaptureReader, Packet};
pub use component::{Analyzer, Description, PromptSpec, RunContext, ToolSpec, parse_params};
pub use timestamp::Timestamp;

/// Bindings generated from `wit/analyzer.wit`.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "analyzer-component",
        pub_export_macro: true,
        export_macro_name: "export_analyzer_component",
        default_bindings_module: "pcapsule_guest::bindings",
    });
}

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
/// `analyzer` interface and defines `main` for the WASI command face.
/// Call it once, at the root of the analyzer's `main.rs`.
#[macro_export]
macro_rules! analyzer_component {
    ($analyzer:ty) => {
        struct PcapsuleComponent;

        impl $crate::bindings::exports::pcapsule::analyzer::analyzer::Guest for PcapsuleComponent {
            fn describe() -> $crate::bindings::exports::pcapsule::analyzer::analyzer::AnalyzerInfo {
                $crate::component::describe_wit::<$analyzer>()
            }

            fn run(
                request: $crate::bindings::exports::pcapsule::analyzer::analyzer::RunRequest,
            ) -> Result<String, $crate::bindings::exports::pcapsule::analyzer::analyzer::RunError> {
                $crate::component::run_wit::<$analyzer>(request)
            }
            fn run_many(
                requests: Vec<$crate::bindings::exports::pcapsule::analyzer::analyzer::RunRequest>,
            ) -> Vec<Result<String, $crate::bindings::exports::pcapsule::analyzer::analyzer::RunError>> {
                $crate::component::run_many_wit::<$analyzer>(requests)
            }
        }

        $crate::bindings::export_analyzer_component!(PcapsuleComponent with_types_in $crate::bindings);

        fn main() -> std::process::ExitCode {
            $crate::component::command_main::<$analyzer>()
        }
    };
}
