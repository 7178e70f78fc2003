//! The one read loop every analyzer runs on. The driver owns the capture
//! reader, the packet path and the packet budget; an analyzer implements
//! [`PacketHandler`] and holds protocol logic only. What the pass learned
//! that every result reports (packets read, what the path could not decode,
//! the standard warnings, where the file was cut short) comes back as a
//! [`Pass`], and [`Pass::envelope`] gives the fields every result ends with.
//!
//! Several handlers with budgets of their own can share one pass
//! ([`drive_lanes`]): the tcp tools of one call do, so that each packet is
//! read and decoded once whatever number of tools asked for it.

use std::io::Read;

use crate::capture::{CaptureFormat, CutShort, Interface, Section};
use crate::conventions::{Envelope, PacketBudget};
use crate::decode::{DecodeError, Decoded, PacketPath, PathCounts};
use crate::selection::Selection;
use crate::{CaptureReader, Packet, RunError};

/// What an analyzer does with the packets of a capture. Every method has a
/// default, so a handler names only the events it needs.
pub trait PacketHandler {
    /// Whether the packet path decodes packets for this handler. A handler
    /// that reads frames only (capinfos) turns it off, and skips the work.
    const DECODES: bool = true;

    /// Every admitted frame, as captured, before it is decoded.
    #[inline]
    fn on_frame(&mut self, _packet: &Packet<'_>) {}

    /// Every admitted frame as the packet path reads it: its layers (the
    /// inner ones for tunnels, a whole datagram once IP fragments complete
    /// one) or why it could not be read (which the path has counted, and
    /// reports in [`Pass::warnings`]).
    #[inline]
    fn on_packet(&mut self, _packet: &Packet<'_>, _decoded: &Result<Decoded<'_>, DecodeError>) {}

    /// Whether the handler also reads the frames a selection (`time_from`,
    /// `time_to`, `filter`) leaves out, through [`Self::on_unselected`]
    /// (asked once, before the pass).
    #[inline]
    fn sees_unselected(&self) -> bool {
        false
    }

    /// A frame the selection left out, decoded, for a handler whose
    /// [`Self::sees_unselected`] is true: one that numbers what the whole capture
    /// holds, as Wireshark does (stream numbers), so that a number means
    /// the same with a selection and without one.
    #[inline]
    fn on_unselected(&mut self, _packet: &Packet<'_>, _decoded: &Result<Decoded<'_>, DecodeError>) {}

    /// True once the handler has all it wants (a lookup past the last
    /// frame it asked for, a page that is full): the pass stops reading.
    /// Handlers that sum up a whole capture keep the default.
    #[inline]
    fn satisfied(&self) -> bool {
        false
    }

    /// The capture ended (or every budget did): flush what is held.
    fn finish(&mut self) {}
}

/// A handler and the packet budget it runs under.
pub struct Lane<H> {
    /// Packets this lane may still take (`max_packets`).
    pub budget: PacketBudget,
    /// What the lane's packets go to.
    pub handler: H,
    /// The budget is spent: the lane takes no more packets.
    full: bool,
    /// The lane takes the packet at hand.
    admitted: bool,
}

impl<H> Lane<H> {
    /// A lane that takes packets until `budget` says stop.
    pub fn new(budget: PacketBudget, handler: H) -> Self {
        Lane { budget, handler, full: false, admitted: false }
    }
}

/// What one pass over a capture learned that every result reports.
#[derive(Debug, Clone)]
pub struct Pass {
    /// Packets read and handed to at least one handler.
    pub packets_read: u64,
    /// What the packet path met: encapsulations, undecodable packets, fragments.
    pub path: PathCounts,
    /// The standard warnings, in this order: the file was cut short, the
    /// reader's (timestamps out of order, bounds met), the packet path's
    /// (undecodable packets by reason, fragments not reassembled).
    pub warnings: Vec<String>,
    /// Where and why the file ended early, if it did.
    pub cut_short: Option<CutShort>,
    /// The file's format.
    pub format: CaptureFormat,
    /// Whether the file was gzip-compressed (and read decompressed).
    pub gzip_compressed: bool,
    /// The capture interfaces the reader kept.
    pub interfaces: Vec<Interface>,
    /// pcapng sections (1 for pcap).
    pub sections: u32,
    /// What the first pcapng section headers say (hardware, OS,
    /// application, comments); empty for pcap.
    pub section_metadata: Vec<Section>,
}

impl Pass {
    /// The fields every result ends with: `warnings` (the pass's, then
    /// `extra`, the analyzer's own) and how far `budget` let the pass go.
    pub fn envelope(&self, budget: &PacketBudget, extra: Vec<String>) -> Envelope {
        Envelope { warnings: self.warnings_with(budget, extra), budget: budget.summary() }
    }

    /// The warnings of a result under `budget`: the pass's, a selection
    /// that kept nothing, then `extra`, the analyzer's own.
    pub fn warnings_with(&self, budget: &PacketBudget, extra: Vec<String>) -> Vec<String> {
        let mut warnings = self.warnings.clone();
        warnings.extend(budget.selection_warning());
        warnings.extend(extra);
        warnings
    }
}

/// The outcome of [`drive`]: the handler back, its budget, and the pass.
pub struct Driven<H> {
    /// The handler, after [`PacketHandler::finish`].
    pub handler: H,
    /// Its budget, for the result's report.
    pub budget: PacketBudget,
    /// What the pass learned.
    pub pass: Pass,
}

/// Runs one handler over `capture` under `budget`.
pub fn drive<H: PacketHandler>(
    capture: &mut dyn Read,
    budget: PacketBudget,
    handler: H,
) -> Result<Driven<H>, RunError> {
    if budget.selection().is_some() {
        return drive_selecting(capture, budget, handler);
    }
    // The loop of drive_lanes for one lane, written out: it is the hot
    // path of most analyzers, and without the per-lane bookkeeping the
    // handler's state and the decoded packet stay out of memory traffic
    // (measured: capinfos used 23% more fuel through drive_lanes).
    let (mut budget, mut handler) = (budget, handler);
    let mut reader = CaptureReader::new(capture)?;
    let mut path = PacketPath::new();
    let mut packets_read = 0u64;
    while let Some(packet) = reader.next_packet()? {
        if !budget.admit() {
            break;
        }
        packets_read += 1;
        handler.on_frame(&packet);
        if H::DECODES {
            handler.on_packet(&packet, &path.decode(&packet));
        }
        if handler.satisfied() {
            break;
        }
    }
    handler.finish();
    let pass = finish_pass(reader, path, packets_read);
    Ok(Driven { handler, budget, pass })
}

/// [`drive`] for a budget with a selection: the one lane of
/// [`drive_lanes_selecting`] (a selective pass is not the hot path the
/// written-out loop of [`drive`] is for).
fn drive_selecting<H: PacketHandler>(
    capture: &mut dyn Read,
    budget: PacketBudget,
    handler: H,
) -> Result<Driven<H>, RunError> {
    let mut lanes = [Lane::new(budget, handler)];
    let pass = drive_lanes_selecting(capture, &mut lanes)?;
    let [Lane { budget, handler, .. }] = lanes;
    Ok(Driven { handler, budget, pass })
}

/// Runs every lane over one read of `capture`: each packet is read and
/// decoded once, and handed to every lane whose budget still admits it. The
/// pass ends at the end of the capture or when every budget is spent.
pub fn drive_lanes<H: PacketHandler>(capture: &mut dyn Read, lanes: &mut [Lane<H>]) -> Result<Pass, RunError> {
    if lanes.iter().any(|lane| lane.budget.selection().is_some()) {
        return drive_lanes_selecting(capture, lanes);
    }
    let mut reader = CaptureReader::new(capture)?;
    let mut path = PacketPath::new();
    let mut packets_read = 0u64;
    while let Some(packet) = reader.next_packet()? {
        let mut admitted = false;
        for lane in lanes.iter_mut() {
            lane.admitted = !lane.full && lane.budget.admit();
            lane.full = !lane.admitted;
            admitted |= lane.admitted;
        }
        if !admitted {
            break;
        }
        packets_read += 1;
        // Decoded once, whatever number of lanes take the packet, and
        // never wrapped (an Option around it cost a copy per packet).
        if H::DECODES {
            let decoded = path.decode(&packet);
            for lane in lanes.iter_mut().filter(|lane| lane.admitted) {
                lane.handler.on_frame(&packet);
                lane.handler.on_packet(&packet, &decoded);
                lane.full |= lane.handler.satisfied();
            }
        } else {
            for lane in lanes.iter_mut().filter(|lane| lane.admitted) {
                lane.handler.on_frame(&packet);
                lane.full |= lane.handler.satisfied();
            }
        }
    }
    for lane in lanes.iter_mut() {
        lane.handler.finish();
    }
    Ok(finish_pass(reader, path, packets_read))
}

/// [`drive_lanes`] when a lane has a selection: each lane's window and
/// filter decide whether it takes a packet, which is still decoded once;
/// the time window is checked first (no decoding for a packet outside every
/// lane's), and only a selected packet counts against a lane's cap.
fn drive_lanes_selecting<H: PacketHandler>(capture: &mut dyn Read, lanes: &mut [Lane<H>]) -> Result<Pass, RunError> {
    let selections: Vec<Selection> = lanes.iter().map(|l| l.budget.selection().cloned().unwrap_or_default()).collect();
    let decodes = H::DECODES || selections.iter().any(Selection::needs_decoding);
    let sees_unselected: Vec<bool> = lanes.iter().map(|l| l.handler.sees_unselected()).collect();
    let any_sees_unselected = sees_unselected.contains(&true);
    let mut reader = CaptureReader::new(capture)?;
    let mut path = PacketPath::new();
    let mut packets_read = 0u64;
    while let Some(packet) = reader.next_packet()? {
        let mut wanted = false;
        for (lane, selection) in lanes.iter_mut().zip(&selections) {
            if !lane.full {
                lane.budget.examined();
            }
            lane.admitted = !lane.full && selection.in_window(packet.timestamp);
            wanted |= lane.admitted;
        }
        if lanes.iter().all(|lane| lane.full) {
            break;
        }
        if !wanted && !any_sees_unselected {
            continue;
        }
        let decoded = (decodes || any_sees_unselected).then(|| path.decode(&packet));
        let mut admitted = false;
        for ((lane, selection), sees) in
            lanes.iter_mut().zip(&selections).zip(&sees_unselected).filter(|((lane, _), _)| !lane.full)
        {
            let selected = lane.admitted && decoded.as_ref().is_none_or(|d| selection.matches(&packet, d));
            lane.admitted = selected && lane.budget.admit();
            lane.full = selected && !lane.admitted;
            admitted |= lane.admitted;
            if let (true, false, Some(decoded)) = (*sees, selected, &decoded) {
                lane.handler.on_unselected(&packet, decoded);
            }
        }
        if !admitted {
            continue;
        }
        packets_read += 1;
        for lane in lanes.iter_mut().filter(|lane| lane.admitted) {
            lane.handler.on_frame(&packet);
            if let (true, Some(decoded)) = (H::DECODES, &decoded) {
                lane.handler.on_packet(&packet, decoded);
            }
            lane.full |= lane.handler.satisfied();
        }
    }
    for lane in lanes.iter_mut() {
        lane.handler.finish();
    }
    Ok(finish_pass(reader, path, packets_read))
}

/// Ends a pass: what the reader and the packet path report.
fn finish_pass<R: Read>(reader: CaptureReader<R>, mut path: PacketPath, packets_read: u64) -> Pass {
    path.finish();
    let mut warnings = Vec::new();
    if let Some(cut) = reader.cut_short() {
        warnings.push(cut.warning());
    }
    warnings.extend(reader.warnings());
    warnings.extend(path.warnings());
    Pass {
        packets_read,
        path: path.counts(),
        warnings,
        cut_short: reader.cut_short().cloned(),
        format: reader.format(),
        gzip_compressed: reader.gzip_compressed(),
        interfaces: reader.interfaces().to_vec(),
        sections: reader.sections(),
        section_metadata: reader.section_metadata().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::PcapBuilder;
    use serde_json::json;

    /// Counts what the driver hands over.
    #[derive(Default)]
    struct Tally {
        frames: u64,
        decoded: u64,
        undecodable: u64,
        finished: bool,
    }

    impl PacketHandler for Tally {
        fn on_frame(&mut self, _: &Packet<'_>) {
            self.frames += 1;
        }
        fn on_packet(&mut self, _: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
            match decoded {
                Ok(_) => self.decoded += 1,
                Err(_) => self.undecodable += 1,
            }
        }
        fn finish(&mut self) {
            self.finished = true;
        }
    }

    /// Frames only: the path never decodes.
    #[derive(Default)]
    struct FramesOnly(u64);

    impl PacketHandler for FramesOnly {
        const DECODES: bool = false;
        fn on_frame(&mut self, _: &Packet<'_>) {
            self.0 += 1;
        }
        fn on_packet(&mut self, _: &Packet<'_>, _: &Result<Decoded<'_>, DecodeError>) {
            panic!("a handler that does not decode is never given decoded packets");
        }
    }

    /// An Ethernet frame carrying a minimal IPv4 header (protocol 253, experimental).
    fn ipv4_frame() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 253, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f
    }

    fn capture(frames: usize) -> Vec<u8> {
        (0..frames).fold(PcapBuilder::ethernet(), |b, i| b.packet(i as u32, 0, &ipv4_frame())).build()
    }

    #[test]
    fn every_lane_gets_the_packets_its_budget_admits_and_the_pass_stops_when_all_are_spent() {
        let bytes = capture(10);
        let mut lanes = [
            Lane::new(PacketBudget::new(Some(3), None).unwrap(), Tally::default()),
            Lane::new(PacketBudget::new(Some(6), None).unwrap(), Tally::default()),
        ];
        let pass = drive_lanes(&mut &bytes[..], &mut lanes).unwrap();
        assert_eq!(pass.packets_read, 6, "the pass ends once the larger budget is spent");
        assert_eq!((lanes[0].handler.frames, lanes[0].handler.decoded), (3, 3));
        assert_eq!((lanes[1].handler.frames, lanes[1].handler.decoded), (6, 6));
        assert!(lanes.iter().all(|l| l.handler.finished));
        assert!(lanes[0].budget.summary().truncated);
        assert!(lanes[1].budget.summary().truncated);
    }

    #[test]
    fn a_single_handler_reads_to_the_end_and_the_envelope_carries_the_standard_fields() {
        let bytes = capture(4);
        let driven = drive(&mut &bytes[..], PacketBudget::new(None, None).unwrap(), Tally::default()).unwrap();
        assert_eq!(driven.pass.packets_read, 4);
        assert_eq!(driven.handler.decoded, 4);
        let envelope = serde_json::to_value(driven.pass.envelope(&driven.budget, vec!["mine".into()])).unwrap();
        assert_eq!(
            envelope,
            json!({"warnings": ["mine"], "packets_analyzed": 4, "max_packets": null, "truncated": false, "selection": null})
        );
    }

    #[test]
    fn undecodable_packets_reach_the_handler_as_errors_and_the_warnings() {
        // Link type 147 (user 0) has no decoder.
        let bytes = (0..3).fold(PcapBuilder::new(147), |b, i| b.packet(i, 0, &[1, 2, 3])).build();
        let driven = drive(&mut &bytes[..], PacketBudget::new(None, None).unwrap(), Tally::default()).unwrap();
        assert_eq!((driven.handler.undecodable, driven.handler.decoded), (3, 0));
        assert_eq!(driven.pass.path.undecodable(), 3);
        assert!(driven.pass.warnings.iter().any(|w| w.starts_with("3 packets have a link type")), "{:?}", driven.pass);
    }

    #[test]
    fn a_frames_only_handler_is_never_decoded_for() {
        let bytes = capture(5);
        let driven = drive(&mut &bytes[..], PacketBudget::new(None, None).unwrap(), FramesOnly::default()).unwrap();
        assert_eq!(driven.handler.0, 5);
        assert_eq!(driven.pass.path.encapsulated(crate::decode::Encapsulation::Vlan), 0);
        assert_eq!(driven.pass.path.undecodable(), 0);
    }

    #[test]
    fn a_cut_short_file_is_reported_once_with_the_packets_before_it() {
        let mut bytes = capture(3);
        bytes.truncate(bytes.len() - 5);
        let driven = drive(&mut &bytes[..], PacketBudget::new(None, None).unwrap(), Tally::default()).unwrap();
        assert_eq!(driven.pass.packets_read, 2);
        assert!(driven.pass.cut_short.is_some());
        assert_eq!(driven.pass.warnings.iter().filter(|w| w.contains("cut short")).count(), 1);
    }

    /// A capture of UDP packets from 10.0.0.1, one per second from t=0,
    /// to destination port 53 for even seconds and 80 for odd ones.
    fn udp_capture(frames: u32) -> Vec<u8> {
        (0..frames)
            .fold(PcapBuilder::ethernet(), |b, i| {
                let port: u16 = if i % 2 == 0 { 53 } else { 80 };
                b.packet(i, 0, &crate::testing::udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 4000, port, b"x"))
            })
            .build()
    }

    fn selecting(params: serde_json::Value, max_packets: Option<u64>) -> PacketBudget {
        let serde_json::Value::Object(mut map) = params else { panic!("an object") };
        let selection = Selection::take_from(&mut map).unwrap();
        PacketBudget::new(max_packets, None).unwrap().selecting(selection)
    }

    #[test]
    fn a_selection_hands_over_only_its_packets_and_the_cap_counts_them() {
        let bytes = udp_capture(10);
        let budget = selecting(json!({"filter": "udp dst port 53", "time_from": 2, "time_to": 7}), None);
        let driven = drive(&mut &bytes[..], budget, Tally::default()).unwrap();
        // Seconds 2, 4 and 6.
        assert_eq!((driven.handler.frames, driven.handler.decoded), (3, 3));
        assert_eq!(driven.pass.packets_read, 3);
        let report = serde_json::to_value(driven.budget.summary()).unwrap();
        assert_eq!(report["packets_analyzed"], 3);
        assert_eq!(report["selection"]["packets_examined"], 10);
        assert_eq!(report["selection"]["filter"], "udp dst port 53");
        assert_eq!(report["truncated"], false);

        let capped = selecting(json!({"filter": "port 80"}), Some(2));
        let driven = drive(&mut &bytes[..], capped, Tally::default()).unwrap();
        assert_eq!(driven.handler.frames, 2, "max_packets counts selected packets");
        let report = driven.budget.summary();
        assert!(report.truncated);
        assert_eq!(report.selection.unwrap().packets_examined, 6, "stops at the third port-80 packet, the sixth");
    }

    #[test]
    fn a_selection_that_keeps_nothing_says_so() {
        let bytes = udp_capture(4);
        let driven = drive(&mut &bytes[..], selecting(json!({"filter": "tcp"}), None), Tally::default()).unwrap();
        assert_eq!(driven.handler.frames, 0);
        let envelope = driven.pass.envelope(&driven.budget, Vec::new());
        assert!(envelope.warnings.iter().any(|w| w.contains("kept none of the 4 packets")), "{envelope:?}");
    }

    #[test]
    fn a_frames_only_handler_with_a_time_window_is_still_never_decoded_for() {
        let bytes = udp_capture(6);
        let driven = drive(&mut &bytes[..], selecting(json!({"time_to": 2.5}), None), FramesOnly::default()).unwrap();
        assert_eq!(driven.handler.0, 3);
    }

    #[test]
    fn lanes_select_each_their_own_packets_in_one_pass() {
        let bytes = udp_capture(10);
        let mut lanes = [
            Lane::new(selecting(json!({"filter": "port 53"}), None), Tally::default()),
            Lane::new(PacketBudget::new(None, None).unwrap(), Tally::default()),
            Lane::new(selecting(json!({"time_from": 8}), Some(1)), Tally::default()),
            Lane::new(selecting(json!({"filter": "port 80"}), Some(2)), Tally::default()),
        ];
        let pass = drive_lanes(&mut &bytes[..], &mut lanes).unwrap();
        assert_eq!(pass.packets_read, 10);
        let frames: Vec<u64> = lanes.iter().map(|l| l.handler.frames).collect();
        assert_eq!(frames, [5, 10, 1, 2]);
        assert!(lanes.iter().all(|l| l.handler.frames == l.handler.decoded));
        let truncated: Vec<bool> = lanes.iter().map(|l| l.budget.summary().truncated).collect();
        assert_eq!(truncated, [false, false, true, true]);
    }
}
