//! The packets analyzer as a component and a WASI command; the work is the
//! library (src/lib.rs), which native tests use directly.

pcapsule_guest::analyzer_component!(packets::Packets);
