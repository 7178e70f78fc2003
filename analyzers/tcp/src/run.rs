//! From tool calls to lanes of the shared pass and back to results. Calls
//! with the same filter and packet budget share a lane, so one connection
//! table (the bulk of the memory and the time) serves all of them.

use std::io::Read;

use pcapsule_guest::conventions::{PacketBudget, Paging, result_budget};
use pcapsule_guest::{RunContext, RunError};
use serde_json::Value;

use crate::conn::Connection;
use crate::params::parse;
use crate::scan::{self, Filter, Scanned, Tracking};
use crate::segment::Segment;
use crate::tracker::Sink;
use crate::{tool_anomalies, tool_connections, tool_flow, tool_retrans};
use pcapsule_guest::driver::Lane;

/// One tool's sink.
enum ToolSink {
    Connections(tool_connections::Connections),
    Anomalies(tool_anomalies::Anomalies),
    Retransmissions(tool_retrans::Retransmissions),
    Flow(tool_flow::Flow),
}

impl Sink for ToolSink {
    fn segment(&mut self, conn: &Connection, side: usize, s: &Segment, verdict: u32) {
        match self {
            ToolSink::Connections(t) => t.segment(conn, side, s, verdict),
            ToolSink::Anomalies(t) => t.segment(conn, side, s, verdict),
            ToolSink::Retransmissions(t) => t.segment(conn, side, s, verdict),
            ToolSink::Flow(t) => t.segment(conn, side, s, verdict),
        }
    }

    fn finished(&mut self, conn: &Connection) {
        match self {
            ToolSink::Connections(t) => t.finished(conn),
            ToolSink::Anomalies(t) => t.finished(conn),
            ToolSink::Retransmissions(t) => t.finished(conn),
            ToolSink::Flow(t) => t.finished(conn),
        }
    }
}

/// One call: its tool's sink and the byte budget of its result.
struct Call {
    sink: ToolSink,
    result_bytes: usize,
}

impl Sink for Call {
    fn segment(&mut self, conn: &Connection, side: usize, s: &Segment, verdict: u32) {
        self.sink.segment(conn, side, s, verdict);
    }

    fn finished(&mut self, conn: &Connection) {
        self.sink.finished(conn);
    }
}

impl Call {
    fn result(self, ctx: &RunContext, filter: Filter, scanned: Scanned) -> Result<Value, RunError> {
        let budget = self.result_bytes;
        match self.sink {
            ToolSink::Connections(t) => t.finish(ctx, filter, scanned, budget),
            ToolSink::Anomalies(t) => t.finish(ctx, filter, scanned, budget),
            ToolSink::Retransmissions(t) => t.finish(ctx, filter, scanned, budget),
            ToolSink::Flow(t) => t.finish(ctx, scanned, budget),
        }
    }
}

/// Several calls' sinks on one lane: each sees every connection of it.
struct Shared(Vec<(usize, Call)>);

impl Sink for Shared {
    fn segment(&mut self, conn: &Connection, side: usize, s: &Segment, verdict: u32) {
        for (_, sink) in &mut self.0 {
            sink.segment(conn, side, s, verdict);
        }
    }

    fn finished(&mut self, conn: &Connection) {
        for (_, sink) in &mut self.0 {
            sink.finished(conn);
        }
    }
}

/// A call turned into its lane settings and sink.
fn prepare(tool: &str, params: Value, ctx: &RunContext) -> Result<(PacketBudget, Filter, Call), RunError> {
    let p = parse(tool, params)?;
    let result_bytes = result_budget(p.max_result_bytes)?;
    let budget = ctx.budget(p.max_packets)?;
    let filter = Filter { server_ip: p.server_ip, server_port: p.server_port };
    let sink = match tool {
        "analyze_tcp_connections" => {
            let paging = Paging::from_params(p.limit, p.offset)?;
            ToolSink::Connections(tool_connections::Connections::new(p.detailed, paging))
        }
        "analyze_tcp_anomalies" => ToolSink::Anomalies(tool_anomalies::Anomalies::new(p.server_ip)),
        "analyze_tcp_retransmissions" => {
            let paging = Paging::from_params(p.limit, p.offset)?;
            ToolSink::Retransmissions(tool_retrans::Retransmissions::new(p.threshold, paging)?)
        }
        "analyze_traffic_flow" => ToolSink::Flow(tool_flow::Flow::new(filter)),
        other => return Err(RunError::BadParams(format!("unknown tool `{other}`"))),
    };
    Ok((budget, filter, Call { sink, result_bytes }))
}

/// Runs one call.
pub fn one(tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
    let (budget, filter, sink) = prepare(tool, params, ctx)?;
    let mut scanned = scan::scan(capture, vec![scan::lane(budget, filter, sink)])?;
    let (sink, scanned) = scanned.pop().expect("one lane in, one out");
    sink.result(ctx, filter, scanned)
}

/// Runs several calls over one read of `capture`; one result per call, in order.
pub fn many(calls: Vec<pcapsule_guest::component::Call<'_>>, capture: &mut dyn Read) -> Vec<Result<Value, RunError>> {
    let mut results: Vec<Option<Result<Value, RunError>>> = Vec::new();
    let mut contexts: Vec<RunContext> = Vec::new();
    let mut lanes: Vec<Lane<Tracking<Shared>>> = Vec::new();
    for (index, call) in calls.into_iter().enumerate() {
        results.push(None);
        match prepare(call.tool, call.params, &call.ctx) {
            Err(e) => results[index] = Some(Err(e)),
            Ok((budget, filter, sink)) => {
                match lanes.iter_mut().find(|lane| lane.budget == budget && lane.handler.filter == filter) {
                    Some(lane) => lane.handler.sink.0.push((index, sink)),
                    None => lanes.push(scan::lane(budget, filter, Shared(vec![(index, sink)]))),
                }
            }
        }
        contexts.push(call.ctx);
    }
    if !lanes.is_empty() {
        let filters: Vec<Filter> = lanes.iter().map(|lane| lane.handler.filter).collect();
        match scan::scan(capture, lanes) {
            Ok(scanned) => {
                for ((shared, scanned), filter) in scanned.into_iter().zip(filters) {
                    for (index, sink) in shared.0 {
                        results[index] = Some(sink.result(&contexts[index], filter, scanned.clone()));
                    }
                }
            }
            Err(e) => {
                for slot in results.iter_mut().filter(|slot| slot.is_none()) {
                    *slot = Some(Err(e.clone()));
                }
            }
        }
    }
    results.into_iter().map(|r| r.expect("every call has a result")).collect()
}
