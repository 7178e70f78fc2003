//! Running the tools: a call's parameters checked once into a [`Call`],
//! then one pass over the capture for one call, or for several
//! (`analyze_many`): calls on the same layer under the same packet budget
//! share one conversation table, and every table is fed from one read and
//! one decode of each packet.

use std::io::Read;

use pcapsule_guest::conventions::{PacketBudget, Paging, result_budget};
use pcapsule_guest::decode::{DecodeError, Decoded};
use pcapsule_guest::driver::{self, Driven, Lane, PacketHandler, Pass};
use pcapsule_guest::{Packet, RunContext, RunError};
use serde_json::Value;

use crate::conversations::{self, ConversationType, Conversations, MAX_CONVERSATIONS, SortBy};
use crate::endpoints;
use crate::hierarchy::{self, Hierarchy};
use crate::timeline::{self, Timeline};

/// Which tool a call is for.
#[derive(Debug, Clone, Copy)]
enum Tool {
    Conversations,
    Endpoints,
    Timeline,
    Hierarchy,
}

/// One call, its parameters checked.
struct Call {
    tool: Tool,
    kind: ConversationType,
    sort_by: SortBy,
    paging: Paging,
    result_bytes: usize,
    budget: PacketBudget,
    /// The timeline's interval in seconds (None: chosen).
    interval_s: Option<f64>,
}

/// What one lane of the pass builds: a conversation table (both table
/// tools), a timeline or a protocol hierarchy.
pub(crate) enum Builder {
    Table(Conversations),
    Timeline(Timeline),
    Hierarchy(Box<Hierarchy>),
}

impl PacketHandler for Builder {
    #[inline]
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        match self {
            Builder::Table(table) => table.on_packet(packet, decoded),
            Builder::Timeline(timeline) => timeline.on_packet(packet, decoded),
            Builder::Hierarchy(hierarchy) => hierarchy.on_packet(packet, decoded),
        }
    }

    fn sees_unselected(&self) -> bool {
        matches!(self, Builder::Table(table) if table.sees_unselected())
    }

    fn on_unselected(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        if let Builder::Table(table) = self {
            table.on_unselected(packet, decoded);
        }
    }
}

impl Call {
    fn prepare(tool: &str, params: Value, ctx: &RunContext) -> Result<Call, RunError> {
        let mut interval_s = None;
        let (tool, kind, sort_by, max_packets, max_result_bytes, limit, offset) = match tool {
            "analyze_endpoints" => {
                let p: crate::EndpointsParams = pcapsule_guest::parse_params(params)?;
                (Tool::Endpoints, p.endpoint_type, p.sort_by, p.max_packets, p.max_result_bytes, p.limit, p.offset)
            }
            "analyze_io_timeline" => {
                let p: crate::TimelineParams = pcapsule_guest::parse_params(params)?;
                if let Some(s) = p.interval {
                    if !(s.is_finite() && (timeline::MIN_INTERVAL_S..=timeline::MAX_INTERVAL_S).contains(&s)) {
                        return Err(RunError::BadParams(format!(
                            "interval must be between {} and {} seconds, got {s}",
                            timeline::MIN_INTERVAL_S,
                            timeline::MAX_INTERVAL_S
                        )));
                    }
                    interval_s = Some(s);
                }
                let default = ConversationType::default();
                let limit = p.limit.or(Some(timeline::AUTO_SHOWN));
                (Tool::Timeline, default, SortBy::default(), p.max_packets, p.max_result_bytes, limit, p.offset)
            }
            "analyze_protocol_hierarchy" => {
                let p: crate::HierarchyParams = pcapsule_guest::parse_params(params)?;
                let default = ConversationType::default();
                let limit = p.limit.or(Some(hierarchy::DEFAULT_SHOWN));
                (Tool::Hierarchy, default, SortBy::default(), p.max_packets, p.max_result_bytes, limit, p.offset)
            }
            _ => {
                let p: crate::ConversationsParams = pcapsule_guest::parse_params(params)?;
                let kind = p.conversation_type;
                (Tool::Conversations, kind, p.sort_by, p.max_packets, p.max_result_bytes, p.limit, p.offset)
            }
        };
        Ok(Call {
            tool,
            kind,
            sort_by,
            paging: Paging::from_params(limit, offset)?,
            result_bytes: result_budget(max_result_bytes)?,
            budget: ctx.budget(max_packets)?,
            interval_s,
        })
    }

    /// What the call's lane builds.
    fn builder(&self) -> Builder {
        match self.tool {
            Tool::Timeline => Builder::Timeline(Timeline::new(self.interval_s)),
            Tool::Hierarchy => Builder::Hierarchy(Box::default()),
            _ => Builder::Table(Conversations::new(self.kind, MAX_CONVERSATIONS)),
        }
    }

    /// Whether the call can use what `builder` builds under `budget`.
    fn shares(&self, builder: &Builder, budget: &PacketBudget) -> bool {
        *budget == self.budget
            && match (self.tool, builder) {
                (Tool::Conversations | Tool::Endpoints, Builder::Table(table)) => table.kind == self.kind,
                (Tool::Hierarchy, Builder::Hierarchy(_)) => true,
                _ => false,
            }
    }

    fn result(self, built: Built<'_>, pass: &Pass, budget: &PacketBudget, ctx: &RunContext) -> Result<Value, RunError> {
        let (sort_by, paging, bytes) = (self.sort_by, self.paging, self.result_bytes);
        match (self.tool, built) {
            (Tool::Conversations, Built::Table(t)) => {
                conversations::result_of(t, pass, budget, ctx, sort_by, paging, bytes)
            }
            (Tool::Endpoints, Built::Table(t)) => endpoints::result_of(t, pass, budget, ctx, sort_by, paging, bytes),
            (Tool::Timeline, Built::Timeline(t)) => timeline::result_of(*t, pass, budget, ctx, paging, bytes),
            (Tool::Hierarchy, Built::Hierarchy(h)) => hierarchy::result_of(h, pass, budget, ctx, paging, bytes),
            _ => Err(RunError::Internal("a call was given another tool's lane".into())),
        }
    }
}

/// What a finished lane gives a call: a shared table or hierarchy, or its own timeline.
enum Built<'a> {
    Table(&'a Conversations),
    Timeline(Box<Timeline>),
    Hierarchy(&'a Hierarchy),
}

/// Runs one tool.
pub fn one(tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
    let call = Call::prepare(tool, params, ctx)?;
    let Driven { handler, budget, pass } = driver::drive(capture, call.budget.clone(), call.builder())?;
    let built = match handler {
        Builder::Table(ref table) => Built::Table(table),
        Builder::Timeline(timeline) => Built::Timeline(Box::new(timeline)),
        Builder::Hierarchy(ref hierarchy) => Built::Hierarchy(hierarchy),
    };
    call.result(built, &pass, &budget, ctx)
}

/// Runs several tools over one read of `capture`; one result per call, in order.
pub fn many(calls: Vec<pcapsule_guest::component::Call<'_>>, capture: &mut dyn Read) -> Vec<Result<Value, RunError>> {
    let mut prepared: Vec<Result<(Call, usize, RunContext), RunError>> = Vec::new();
    let mut lanes: Vec<Lane<Builder>> = Vec::new();
    for one in calls {
        prepared.push(Call::prepare(one.tool, one.params, &one.ctx).map(|call| {
            let lane = match lanes.iter().position(|l| call.shares(&l.handler, &l.budget)) {
                Some(lane) => lane,
                None => {
                    lanes.push(Lane::new(call.budget.clone(), call.builder()));
                    lanes.len() - 1
                }
            };
            (call, lane, one.ctx)
        }));
    }
    let pass = if lanes.is_empty() { None } else { Some(driver::drive_lanes(capture, &mut lanes)) };
    // A timeline lane serves one call: it is taken out for it.
    let mut timelines: Vec<Option<Timeline>> = lanes
        .iter_mut()
        .map(|lane| match &mut lane.handler {
            Builder::Timeline(t) => Some(std::mem::replace(t, Timeline::new(None))),
            Builder::Table(_) | Builder::Hierarchy(_) => None,
        })
        .collect();
    prepared
        .into_iter()
        .map(|prepared| {
            let (call, lane, ctx) = prepared?;
            let pass = match pass.as_ref().expect("a call that was prepared has a lane") {
                Ok(pass) => pass,
                Err(e) => return Err(e.clone()),
            };
            let built = match timelines[lane].take() {
                Some(timeline) => Built::Timeline(Box::new(timeline)),
                None => match &lanes[lane].handler {
                    Builder::Table(table) => Built::Table(table),
                    Builder::Hierarchy(hierarchy) => Built::Hierarchy(hierarchy),
                    Builder::Timeline(_) => return Err(RunError::Internal("a timeline served twice".into())),
                },
            };
            call.result(built, pass, &lanes[lane].budget, &ctx)
        })
        .collect()
}
