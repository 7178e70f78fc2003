//! The overview analyzer as a component and a WASI command; the analysis is
//! the library (src/lib.rs), which native tests, fuzz targets and
//! benchmarks use directly.

pcapsule_guest::analyzer_component!(overview::Overview, one_pass);
