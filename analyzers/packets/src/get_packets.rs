//! `get_packets`: the packets on the requested page, each built only when
//! shown; reading stops once the page is full (or past the last frame
//! asked for).

use std::io::Read;

use pcapsule_guest::conventions::{Header, PageCollector, Paging, result_budget};
use pcapsule_guest::decode::{DecodeError, Decoded};
use pcapsule_guest::driver::{self, Driven, PacketHandler};
use pcapsule_guest::{Packet, RunContext, RunError};
use serde_json::Value;

use crate::dump::DumpOf;
use crate::frames::Frames;
use crate::result::{CONTENT_NOTICE, PacketView, PacketsResult, ReadFacts};
use crate::{DEFAULT_DUMP_BYTES, DEFAULT_PACKETS_SHOWN, MAX_DUMP_BYTES, PacketsParams, view};

/// Runs `get_packets`.
pub fn run(params: PacketsParams, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
    let dump_bytes = params.dump_bytes.unwrap_or(DEFAULT_DUMP_BYTES);
    if !(16..=MAX_DUMP_BYTES).contains(&dump_bytes) {
        return Err(RunError::BadParams(format!(
            "dump_bytes must be from 16 to {MAX_DUMP_BYTES}, got {dump_bytes}: for a conversation's whole \
             payload, page through it instead"
        )));
    }
    let frames = params.frames.map(crate::FrameList::checked).transpose()?;
    let paging = Paging::from_params(params.limit.or(Some(DEFAULT_PACKETS_SHOWN)), params.offset)?;
    let result_bytes = result_budget(params.max_result_bytes)?;
    let handler = Shower {
        frames,
        dump: params.dump,
        dump_bytes: dump_bytes as usize,
        count_all: params.count_all,
        page: paging.collector(),
        paging,
        past_last_frame: false,
    };
    let Driven { handler, budget, pass } = driver::drive(capture, ctx.budget(params.max_packets)?, handler)?;
    // Stopped by a full page (not by the last frame asked for): later matches went uncounted.
    let all_counted = handler.past_last_frame || !handler.satisfied();
    let (packets, pagination) = handler.page.finish();
    let mut notes = Vec::new();
    if pagination.total == 0 {
        notes.push(match &handler.frames {
            Some(frames) => format!(
                "none of the frames asked for ({frames}) is in the capture{}: frames are numbered from 1, \
                 and analyze_capinfos gives the packet count",
                if budget.selection().is_some() { " and selected" } else { "" }
            ),
            None => "no packet to show".to_string(),
        });
    }
    let result = PacketsResult {
        header: Header::new(ctx),
        content_notice: CONTENT_NOTICE,
        packets_matched: pagination.total as u64,
        all_counted,
        packets,
        pagination,
        capture: pass.path.facts(ReadFacts { frames_read: pass.packets_read }),
        envelope: pass.envelope(&budget, notes),
    };
    pcapsule_guest::conventions::into_paged_result(&result, "packets", paging, result_bytes)
}

/// Collects the packets on the requested page, each built only when shown.
struct Shower {
    frames: Option<Frames>,
    dump: DumpOf,
    dump_bytes: usize,
    count_all: bool,
    paging: Paging,
    page: PageCollector<PacketView>,
    /// A packet past the last frame asked for went by.
    past_last_frame: bool,
}

impl PacketHandler for Shower {
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        if let Some(frames) = &self.frames {
            if packet.number > frames.last() {
                self.past_last_frame = true;
                return;
            }
            if !frames.contains(packet.number) {
                return;
            }
        }
        let (dump, dump_bytes) = (self.dump, self.dump_bytes);
        self.page.offer(|| view::packet(packet, decoded, dump, dump_bytes));
    }

    fn satisfied(&self) -> bool {
        if self.past_last_frame {
            return true;
        }
        // The page is full and one more match is known: `next_offset` is right.
        !self.count_all && self.page.total() > self.paging.offset + self.page.shown() && self.page.is_complete()
    }
}
