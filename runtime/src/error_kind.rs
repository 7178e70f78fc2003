//! The machine-readable class of every tool error (`error.kind` in a
//! result), in one place: README.md's "Tool errors" table lists the same
//! words, and a test holds the two together.

/// Why a tool call failed. Clients branch on [`ErrorKind::as_str`]; the
/// message says what was wrong and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No tool has that name.
    UnknownTool,
    /// An argument is missing, of the wrong type or out of range.
    BadParams,
    /// Every analysis slot is taken (`--max-concurrent-calls`): retry.
    Busy,
    /// `pcap_file` is empty or cannot be resolved as a path.
    BadPath,
    /// The file does not exist.
    NotFound,
    /// Outside the allowed directories, or a URL to a private address.
    NotAllowed,
    /// A directory or a special file, not a capture.
    NotAFile,
    /// The file exists but cannot be read.
    Unreadable,
    /// Not a valid http(s) URL.
    BadUrl,
    /// The download failed (connection, HTTP status, timeout).
    DownloadFailed,
    /// The download is larger than `--max-download-mb`.
    TooLarge,
    /// Not pcap or pcapng.
    UnsupportedFormat,
    /// Damaged before any packet could be read.
    MalformedCapture,
    /// The analysis hit a sandbox limit (fuel, memory, wall clock, result size).
    LimitExceeded,
    /// The analyzer trapped (a bug in it, contained by the sandbox).
    AnalyzerCrashed,
    /// A bug or unexpected condition in pcapsule.
    Internal,
}

impl ErrorKind {
    /// Every kind, in the README's order.
    #[cfg(test)]
    pub const ALL: [ErrorKind; 16] = [
        ErrorKind::UnknownTool,
        ErrorKind::BadParams,
        ErrorKind::Busy,
        ErrorKind::BadPath,
        ErrorKind::NotFound,
        ErrorKind::NotAllowed,
        ErrorKind::NotAFile,
        ErrorKind::Unreadable,
        ErrorKind::BadUrl,
        ErrorKind::DownloadFailed,
        ErrorKind::TooLarge,
        ErrorKind::UnsupportedFormat,
        ErrorKind::MalformedCapture,
        ErrorKind::LimitExceeded,
        ErrorKind::AnalyzerCrashed,
        ErrorKind::Internal,
    ];

    /// The stable word clients see.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::UnknownTool => "unknown_tool",
            ErrorKind::BadParams => "bad_params",
            ErrorKind::Busy => "busy",
            ErrorKind::BadPath => "bad_path",
            ErrorKind::NotFound => "not_found",
            ErrorKind::NotAllowed => "not_allowed",
            ErrorKind::NotAFile => "not_a_file",
            ErrorKind::Unreadable => "unreadable",
            ErrorKind::BadUrl => "bad_url",
            ErrorKind::DownloadFailed => "download_failed",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::UnsupportedFormat => "unsupported_format",
            ErrorKind::MalformedCapture => "malformed_capture",
            ErrorKind::LimitExceeded => "limit_exceeded",
            ErrorKind::AnalyzerCrashed => "analyzer_crashed",
            ErrorKind::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    /// README.md's "Tool errors" table names exactly these kinds, in order.
    #[test]
    fn the_readme_documents_every_kind() {
        let readme = include_str!("../../README.md");
        let section = readme.split("## Tool errors").nth(1).expect("README.md has a `## Tool errors` section");
        let section = section.split("\n## ").next().unwrap();
        let documented: Vec<&str> =
            section.lines().filter_map(|l| l.strip_prefix("| `")).filter_map(|l| l.split('`').next()).collect();
        let kinds: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(documented, kinds);
    }
}
