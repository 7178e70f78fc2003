//! The http analyzer as a component and a WASI command; the analysis is
//! the library (src/lib.rs), which native tests use directly.

pcapsule_guest::analyzer_component!(http::Http);
