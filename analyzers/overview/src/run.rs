//! Running the tools: a call's parameters checked once into a [`Call`],
//! then one pass over the capture for one call, or for several
//! (`analyze_many`): calls on the same layer under the same packet budget
//! share one conversation table, and every table is fed from one read and
//! one decode of each packet.

use std::io::Read;

use pcapsule_guest::conventions::{PacketBudget, Paging, result_budget};
use pcapsule_guest::driver::{self, Driven, Lane, Pass};
use pcapsule_guest::{RunContext, RunError};
use serde_json::Value;

use crate::conversations::{self, ConversationType, Conversations, MAX_CONVERSATIONS, SortBy};
use crate::endpoints;

/// Which tool a call is for.
#[derive(Debug, Clone, Copy)]
enum Tool {
    Conversations,
    Endpoints,
}

/// One call, its parameters checked.
struct Call {
    tool: Tool,
    kind: ConversationType,
    sort_by: SortBy,
    paging: Paging,
    result_bytes: usize,
    budget: PacketBudget,
}

impl Call {
    fn prepare(tool: &str, params: Value, ctx: &RunContext) -> Result<Call, RunError> {
        let (tool, kind, sort_by, max_packets, max_result_bytes, limit, offset) = if tool == "analyze_endpoints" {
            let p: crate::EndpointsParams = pcapsule_guest::parse_params(params)?;
            (Tool::Endpoints, p.endpoint_type, p.sort_by, p.max_packets, p.max_result_bytes, p.limit, p.offset)
        } else {
            let p: crate::ConversationsParams = pcapsule_guest::parse_params(params)?;
            (Tool::Conversations, p.conversation_type, p.sort_by, p.max_packets, p.max_result_bytes, p.limit, p.offset)
        };
        Ok(Call {
            tool,
            kind,
            sort_by,
            paging: Paging::from_params(limit, offset)?,
            result_bytes: result_budget(max_result_bytes)?,
            budget: PacketBudget::new(max_packets, ctx.max_packets)?,
        })
    }

    fn result(
        &self,
        table: &Conversations,
        pass: &Pass,
        budget: &PacketBudget,
        ctx: &RunContext,
    ) -> Result<Value, RunError> {
        let (sort_by, paging, bytes) = (self.sort_by, self.paging, self.result_bytes);
        match self.tool {
            Tool::Conversations => conversations::result_of(table, pass, budget, ctx, sort_by, paging, bytes),
            Tool::Endpoints => endpoints::result_of(table, pass, budget, ctx, sort_by, paging, bytes),
        }
    }
}

/// Runs one tool.
pub fn one(tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
    let call = Call::prepare(tool, params, ctx)?;
    let table = Conversations::new(call.kind, MAX_CONVERSATIONS);
    let Driven { handler: table, budget, pass } = driver::drive(capture, call.budget, table)?;
    call.result(&table, &pass, &budget, ctx)
}

/// Runs several tools over one read of `capture`; one result per call, in order.
pub fn many(calls: Vec<(&str, Value)>, capture: &mut dyn Read, ctx: &RunContext) -> Vec<Result<Value, RunError>> {
    let mut prepared: Vec<Result<(Call, usize), RunError>> = Vec::new();
    let mut lanes: Vec<Lane<Conversations>> = Vec::new();
    for (tool, params) in calls {
        prepared.push(Call::prepare(tool, params, ctx).map(|call| {
            let lane = match lanes.iter().position(|l| l.budget == call.budget && l.handler.kind == call.kind) {
                Some(lane) => lane,
                None => {
                    lanes.push(Lane::new(call.budget, Conversations::new(call.kind, MAX_CONVERSATIONS)));
                    lanes.len() - 1
                }
            };
            (call, lane)
        }));
    }
    let pass = if lanes.is_empty() { None } else { Some(driver::drive_lanes(capture, &mut lanes)) };
    prepared
        .into_iter()
        .map(|prepared| {
            let (call, lane) = prepared?;
            match pass.as_ref().expect("a call that was prepared has a lane") {
                Ok(pass) => call.result(&lanes[lane].handler, pass, &lanes[lane].budget, ctx),
                Err(e) => Err(e.clone()),
            }
        })
        .collect()
}
