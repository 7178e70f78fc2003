//! Result conventions every analyzer follows, written once:
//!
//! - Statistics cover every analyzed packet; only per-item lists are paged.
//! - A paged list comes with a `pagination` object: how many items exist in
//!   all, how many this page returns, and the `offset` that fetches the next
//!   page. Pages are collected while streaming, so memory holds one page only.
//! - `max_packets` (per call, and the server-wide cap, whichever is lower)
//!   stops analysis after that many packets; the result says so.
//! - Problems that do not stop the analysis are `warnings`, never failures.

use serde::Serialize;
use serde_json::Value;

use crate::RunError;
use crate::selection::{Selection, SelectionReport};

/// Default page size of every paged list (packets, connections, rankings):
/// one size for all tools, small enough that a page and the summary beside
/// it make a default result an assistant can read whole.
pub const DEFAULT_PAGE_LIMIT: usize = 20;
/// Largest page a caller may ask for.
pub const MAX_PAGE_LIMIT: usize = 1000;
/// JSON bytes a page may hold (a result also fits [`RESULT_BYTE_BUDGET`]).
pub const PAGE_BYTE_BUDGET: usize = 32 * 1024;

/// JSON bytes a whole result may take: 40 KB, about 10,000 tokens, where
/// assistants' clients cut tool results near 25,000. Whatever the capture
/// and whatever `limit` asks: the page gives way first ([`fit_page`]),
/// then, if the summary alone is larger, its longest lists ([`fit_lists`]).
pub const RESULT_BYTE_BUDGET: usize = 40_000;

/// The least a caller may set `max_result_bytes` to: room for a result's
/// header, counts and warnings.
pub const MIN_RESULT_BYTES: usize = 2_000;

/// The byte budget of one result: the `max_result_bytes` parameter
/// (`analyze_many` sets it to share its own budget among the tools it
/// runs), at most and by default [`RESULT_BYTE_BUDGET`].
pub fn result_budget(param: Option<u64>) -> Result<usize, RunError> {
    match param {
        None => Ok(RESULT_BYTE_BUDGET),
        Some(n) if (MIN_RESULT_BYTES as u64..=RESULT_BYTE_BUDGET as u64).contains(&n) => Ok(n as usize),
        Some(n) => Err(RunError::BadParams(format!(
            "max_result_bytes must be from {MIN_RESULT_BYTES} to {RESULT_BYTE_BUDGET}, got {n}: it bounds the \
             result's JSON, and lists are cut to fit"
        ))),
    }
}

/// The top-level fields a later page (offset > 0) keeps besides its list
/// and `pagination`: which capture and when, and what limits the figures.
/// The summary came with the first page; sending it again would spend an
/// assistant's context on what it already has.
const PAGE_FIELDS: [&str; 7] =
    ["file", "analysis_timestamp", "warnings", "packets_analyzed", "max_packets", "truncated", "selection"];

/// Whether a later page keeps the top-level field `key` of a result whose
/// paged list is `items`: the result and its schema decide it here alone.
fn kept_on_later_pages(key: &str, items: &str) -> bool {
    key == items || key == "pagination" || PAGE_FIELDS.contains(&key)
}

/// Compact JSON bytes of `value`.
fn json_size(value: &Value) -> usize {
    serde_json::to_string(value).map_or(0, |s| s.len())
}

/// Shortens the paged list `result[items]` (described by
/// `result["pagination"]`, a [`PageInfo`]) from its end until the whole
/// result takes at most `budget` bytes of compact JSON, and
/// says so in the pagination (`ended_by_size`, `next_offset`). The page
/// keeps at least one item, so paging always moves on. Each collector
/// bounds its own page; this bounds the page together with the tables and
/// statistics beside it, which only the finished result knows.
pub fn fit_page(result: &mut Value, items: &str, budget: usize) {
    let total = json_size(result);
    if total <= budget {
        return;
    }
    let Some(list) = result.get_mut(items).and_then(Value::as_array_mut) else { return };
    // A little more than the excess: the pagination grows by a few fields.
    let mut excess = total - budget + 64;
    let mut keep = list.len();
    while keep > 1 && excess > 0 {
        keep -= 1;
        // The item and the comma before it.
        excess = excess.saturating_sub(json_size(&list[keep]) + 1);
    }
    if keep == list.len() {
        return;
    }
    list.truncate(keep);
    let Some(pagination) = result.get_mut("pagination").and_then(Value::as_object_mut) else { return };
    let offset = pagination.get("offset").and_then(Value::as_u64).unwrap_or(0);
    pagination.insert("returned".into(), keep.into());
    pagination.insert("next_offset".into(), (offset + keep as u64).into());
    pagination.insert("ended_by_size".into(), true.into());
}

/// The last resort of the size bound, for a summary that alone passes
/// its `budget` (long names in every table of a hostile capture, or a
/// small share of `analyze_many`'s budget): halves the largest cuttable
/// collection anywhere in `result` (but the page `items` and `warnings`)
/// until the result fits or none has more than one entry (then, if it still
/// does not fit, empties them too), and says in one line of `warnings`
/// which were cut and from how many entries. Cuttable
/// are lists of objects or strings (also inside an entry of such a list)
/// and tables of objects or lists keyed by data ([`is_data_key`]:
/// addresses, transaction ids, names), whose schemas require no key.
/// Lists and tables of numbers are left alone (they are small, some are
/// fixed-size tuples, and a histogram's buckets look like data keys), and
/// so are objects with a field name among their keys: cutting a field
/// would break the result's schema.
pub fn fit_lists(result: &mut Value, items: &str, budget: usize) {
    fit_lists_and_tables(result, items, budget, &[]);
}

/// [`fit_lists`], which as its last resort also halves the tables of
/// numbers at `number_tables` (dotted paths from the result's top, e.g.
/// `statistics.rst_distribution.by_source`): top-N counts the analyzer
/// knows its schema lets shrink.
pub fn fit_lists_and_tables(result: &mut Value, items: &str, budget: usize, number_tables: &[&str]) {
    let mut cut: Vec<(Vec<String>, usize, usize)> = Vec::new();
    let say = |cut: &[(Vec<String>, usize, usize)]| {
        let each: Vec<String> =
            cut.iter().map(|(path, from, to)| format!("`{}` {to} of {from}", path.join("."))).collect();
        format!("Shortened to stay within {budget} bytes of JSON (entries kept of all): {}", each.join(", "))
    };
    // Collections are halved down to one entry first; only if the result
    // still does not fit (a small share of `analyze_many`'s budget with
    // many tools) are the last entries dropped too.
    let mut floor = 1;
    // The warning to be added counts against the budget too.
    while json_size(result) + if cut.is_empty() { 0 } else { say(&cut).len() + 3 } > budget {
        let mut largest: Option<(usize, Vec<String>)> = None;
        if let Value::Object(object) = &*result {
            for (key, value) in object.iter().filter(|(k, _)| *k != items && *k != "warnings") {
                find_largest_cuttable(value, &mut vec![key.clone()], floor, number_tables, &mut largest);
            }
        }
        let Some((_, path)) = largest else {
            if floor == 0 {
                break;
            }
            floor = 0;
            continue;
        };
        let pointer: String =
            path.iter().map(|key| format!("/{}", key.replace('~', "~0").replace('/', "~1"))).collect();
        let before = match result.pointer_mut(&pointer) {
            Some(Value::Array(list)) => {
                let before = list.len();
                list.truncate(before / 2);
                before
            }
            Some(Value::Object(table)) => {
                let before = table.len();
                // `preserve_order`: the first entries (the most frequent,
                // say) stay.
                let mut kept = 0;
                table.retain(|_, _| {
                    kept += 1;
                    kept <= before / 2
                });
                before
            }
            _ => break,
        };
        match cut.iter_mut().find(|(p, _, _)| *p == path) {
            Some(entry) => entry.2 = before / 2,
            None => cut.push((path, before, before / 2)),
        }
    }
    if !cut.is_empty()
        && let Some(warnings) = result.get_mut("warnings").and_then(Value::as_array_mut)
    {
        warnings.push(Value::String(say(&cut)));
    }
}

/// Whether an object key is a datum (an address, an id, a name, a code)
/// rather than the name of a field: our results name fields in
/// snake_case, so a key with anything else in it, or none of it, is data.
fn is_data_key(key: &str) -> bool {
    !key.starts_with(|c: char| c.is_ascii_lowercase())
        || !key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The largest cuttable collection under `value` (at `path`, keys and list
/// indexes from the result's top) with more than `floor` entries, by JSON
/// size (see [`fit_lists`]). An enclosing collection is larger than any
/// inside it, so entries are cut whole first, then what is inside the one kept.
fn find_largest_cuttable(
    value: &Value,
    path: &mut Vec<String>,
    floor: usize,
    number_tables: &[&str],
    largest: &mut Option<(usize, Vec<String>)>,
) {
    let mut consider = |value: &Value, path: &Vec<String>| {
        let size = json_size(value);
        if largest.as_ref().is_none_or(|(s, _)| size > *s) {
            *largest = Some((size, path.clone()));
        }
    };
    match value {
        Value::Array(list) if list.iter().all(|v| v.is_object() || v.is_string()) => {
            if list.len() > floor {
                consider(value, path);
            }
            for (index, entry) in list.iter().enumerate().filter(|(_, v)| v.is_object()) {
                path.push(index.to_string());
                find_largest_cuttable(entry, path, floor, number_tables, largest);
                path.pop();
            }
        }
        Value::Object(object) => {
            // Tables of numbers are cut only as the last resort, and only
            // those the analyzer named (top-N counts, never a histogram's
            // buckets, which its schema requires).
            let entries_cuttable = object.values().all(|v| v.is_object() || v.is_array())
                || (floor == 0
                    && object.values().all(Value::is_number)
                    && number_tables.contains(&path.join(".").as_str()));
            if object.len() > floor && object.keys().all(|k| is_data_key(k)) && entries_cuttable {
                consider(value, path);
            }
            for (key, inner) in object {
                path.push(key.clone());
                find_largest_cuttable(inner, path, floor, number_tables, largest);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Which slice of a list to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Items to skip.
    pub offset: usize,
    /// Items to return at most.
    pub limit: usize,
}

impl Paging {
    /// From the `limit` and `offset` parameters, checking their range.
    pub fn from_params(limit: Option<u64>, offset: Option<u64>) -> Result<Self, RunError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_LIMIT as u64);
        if limit > MAX_PAGE_LIMIT as u64 {
            return Err(RunError::BadParams(format!(
                "limit must be at most {MAX_PAGE_LIMIT}, got {limit}: page through longer lists with offset"
            )));
        }
        let offset =
            usize::try_from(offset.unwrap_or(0)).map_err(|_| RunError::BadParams("offset is too large".into()))?;
        Ok(Paging { offset, limit: limit as usize })
    }

    /// The page of a list whose `total` items the caller has already
    /// narrowed to `on_page` (the items from `offset` on, in order), within
    /// the same byte budget as [`Paging::collector`].
    pub fn page_of<T: Serialize>(self, on_page: impl IntoIterator<Item = T>, total: usize) -> (Vec<T>, PageInfo) {
        let mut collector = self.collector();
        // The items before `offset` were skipped by the caller.
        collector.total = self.offset;
        for item in on_page.into_iter().take(self.limit) {
            collector.offer(|| item);
        }
        collector.total = total;
        collector.finish()
    }

    /// A collector for a list whose items arrive while streaming.
    pub fn collector<T: Serialize>(self) -> PageCollector<T> {
        PageCollector {
            paging: self,
            total: 0,
            items: Vec::new(),
            bytes: 0,
            byte_budget: PAGE_BYTE_BUDGET,
            full: false,
        }
    }
}

/// Counts every item offered and keeps only those on the requested page,
/// within [`PAGE_BYTE_BUDGET`] bytes of JSON.
#[derive(Debug)]
pub struct PageCollector<T> {
    paging: Paging,
    total: usize,
    items: Vec<T>,
    bytes: usize,
    byte_budget: usize,
    /// The byte budget ended the page before `limit` items.
    full: bool,
}

impl<T: Serialize> PageCollector<T> {
    /// Counts one item; builds it (only) when it falls on the page.
    pub fn offer(&mut self, make: impl FnOnce() -> T) {
        let index = self.total;
        self.total += 1;
        if index < self.paging.offset || self.items.len() >= self.paging.limit || self.full {
            return;
        }
        let item = make();
        let size = serde_json::to_string(&item).map_or(0, |s| s.len() + 1);
        // The first item always fits, so paging always makes progress.
        if !self.items.is_empty() && self.bytes + size > self.byte_budget {
            self.full = true;
            return;
        }
        self.bytes += size;
        self.items.push(item);
    }

    /// The same collector with another byte budget (tests use small ones).
    pub fn with_byte_budget(mut self, bytes: usize) -> Self {
        self.byte_budget = bytes;
        self
    }

    /// Items offered so far.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Items kept for the page so far.
    pub fn shown(&self) -> usize {
        self.items.len()
    }

    /// True when the page takes no more items (`limit` reached, or its
    /// byte budget).
    pub fn is_complete(&self) -> bool {
        self.full || self.items.len() >= self.paging.limit
    }

    /// The page and its `pagination` description.
    pub fn finish(self) -> (Vec<T>, PageInfo) {
        let returned = self.items.len();
        let end = self.paging.offset + returned;
        let next_offset = (end < self.total && returned > 0).then_some(end);
        let info = PageInfo {
            total: self.total,
            returned,
            offset: self.paging.offset,
            limit: self.paging.limit,
            next_offset,
            ended_by_size: self.full,
        };
        (self.items, info)
    }
}

/// The `pagination` object of a paged list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PageInfo {
    /// Items in all.
    pub total: usize,
    /// Items on this page.
    pub returned: usize,
    /// Items skipped before this page.
    pub offset: usize,
    /// Page size asked for.
    pub limit: usize,
    /// Pass this as `offset` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
    /// The page ended before `limit` items to keep the result small enough
    /// for an AI client; `next_offset` continues where it stopped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ended_by_size: bool,
}

/// What packets one run takes: which ([`Selection`]: time window and
/// filter, applied by the driver) and how many (the packet cap), and how
/// far the analysis got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketBudget {
    cap: Option<u64>,
    analyzed: u64,
    hit: bool,
    selection: Option<Selection>,
    examined: u64,
}

impl PacketBudget {
    /// The lower of the tool's `max_packets` parameter and the server-wide
    /// cap, over every packet ([`crate::RunContext::budget`] adds the call's
    /// selection).
    pub fn new(param: Option<u64>, server_cap: Option<u64>) -> Result<Self, RunError> {
        if param == Some(0) {
            return Err(RunError::BadParams("max_packets must be at least 1".into()));
        }
        let cap = match (param, server_cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(PacketBudget { cap, analyzed: 0, hit: false, selection: None, examined: 0 })
    }

    /// Takes only the packets `selection` selects; the cap then counts them.
    pub fn selecting(mut self, selection: Selection) -> Self {
        self.selection = (!selection.is_everything()).then_some(selection);
        self
    }

    /// The selection, unless it is every packet.
    pub fn selection(&self) -> Option<&Selection> {
        self.selection.as_ref()
    }

    /// The driver read one more packet to find the selected ones.
    #[inline]
    pub(crate) fn examined(&mut self) {
        self.examined += 1;
    }

    /// Call before analyzing a (selected) packet: false once the cap is
    /// reached (and the packet should not be analyzed).
    pub fn admit(&mut self) -> bool {
        if self.cap.is_some_and(|cap| self.analyzed >= cap) {
            self.hit = true;
            return false;
        }
        self.analyzed += 1;
        true
    }

    /// Packets admitted.
    pub fn analyzed(&self) -> u64 {
        self.analyzed
    }

    /// `packets_analyzed`, `max_packets` and `truncated` (true when the cap
    /// stopped the analysis before the end of the capture), as mcpcap names
    /// them and [`Envelope`] flattens them, and the selection applied.
    pub fn summary(&self) -> BudgetReport {
        BudgetReport {
            packets_analyzed: self.analyzed,
            max_packets: self.cap,
            truncated: self.hit,
            selection: self.selection.as_ref().map(|s| s.report(self.examined)),
        }
    }

    /// The warning a selection that kept nothing deserves.
    pub fn selection_warning(&self) -> Option<String> {
        (self.selection.is_some() && self.analyzed == 0).then(|| {
            format!(
                "the selection (time_from, time_to, filter) kept none of the {} packets examined: widen it, or \
                 check the capture's time span with analyze_capinfos",
                self.examined
            )
        })
    }
}

/// How far the packet budget let an analysis go, as every result reports it
/// ([`PacketBudget::summary`], flattened into [`Envelope`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct BudgetReport {
    /// Packets analyzed: all of the capture's, or with `selection` the
    /// packets it selected, unless `truncated`.
    pub packets_analyzed: u64,
    /// The packet cap that applied: the lower of the tool's `max_packets`
    /// and the server's `--max-packets`; null when neither was set.
    pub max_packets: Option<u64>,
    /// True when `max_packets` stopped the analysis before the end of the capture.
    pub truncated: bool,
    /// The call's `time_from`, `time_to` and `filter` as applied; null
    /// when the call selected every packet.
    pub selection: Option<SelectionReport>,
}

/// The fields every result ends with, after the analyzer's own: what a
/// reader of the figures should know, and how far the packet budget let
/// the analysis go. Flattened into a typed result (`#[serde(flatten)]`);
/// [`crate::driver::Pass::envelope`] fills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Envelope {
    /// What limits the figures: the capture cut short, packets the packet
    /// path could not read, fragments not reassembled, tables that were
    /// full, and the analyzer's own notes.
    pub warnings: Vec<String>,
    /// `packets_analyzed`, `max_packets`, `truncated`.
    #[serde(flatten)]
    pub budget: BudgetReport,
}

/// A typed result without a paged list as the tool returns it: serialized,
/// within `budget` bytes ([`result_budget`]; see [`fit_lists`]).
pub fn into_result<T: Serialize>(result: &T, budget: usize) -> Result<Value, RunError> {
    let mut result = serde_json::to_value(result).map_err(|e| RunError::Internal(e.to_string()))?;
    fit_lists(&mut result, "", budget);
    Ok(result)
}

/// [`into_result`], whose last resort may also halve the tables of numbers
/// at `number_tables` (see [`fit_lists_and_tables`]).
pub fn into_result_cutting<T: Serialize>(result: &T, budget: usize, number_tables: &[&str]) -> Result<Value, RunError> {
    let mut result = serde_json::to_value(result).map_err(|e| RunError::Internal(e.to_string()))?;
    fit_lists_and_tables(&mut result, "", budget, number_tables);
    Ok(result)
}

/// A typed result with the paged list `items` as the tool returns it:
/// serialized; on a later page (`paging.offset > 0`) only the page, its
/// `pagination` and [`PAGE_FIELDS`]; within `budget` bytes
/// ([`result_budget`]), the page giving way first ([`fit_page`], then
/// [`fit_lists`]). Its schema comes from [`schema::of_paged_result`].
pub fn into_paged_result<T: Serialize>(
    result: &T,
    items: &str,
    paging: Paging,
    budget: usize,
) -> Result<Value, RunError> {
    let mut result = serde_json::to_value(result).map_err(|e| RunError::Internal(e.to_string()))?;
    if paging.offset > 0
        && let Value::Object(object) = &mut result
    {
        object.retain(|key, _| kept_on_later_pages(key, items));
    }
    fit_page(&mut result, items, budget);
    fit_lists(&mut result, items, budget);
    Ok(result)
}

/// How many samples a measure had, with their minimum, mean and maximum
/// (each rounded as the analyzer rounds it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Spread {
    pub count: u64,
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

/// Minimum, mean and maximum of a measure (response or round-trip times
/// in milliseconds, say), each rounded as the analyzer rounds it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MinAvgMax {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

/// The fields every result starts with (flattened into a typed result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Header {
    /// The capture, as the caller named it (path or URL).
    pub file: String,
    /// When the analysis ran, RFC 3339 in UTC.
    pub analysis_timestamp: String,
}

impl Header {
    /// The header of a result of the run `ctx`.
    pub fn new(ctx: &crate::RunContext) -> Self {
        Header { file: ctx.capture_name.clone(), analysis_timestamp: analysis_timestamp() }
    }
}

/// A result's `capture` object: what the packet path met reading the
/// capture ([`crate::decode::PathCounts::facts`]), then the analyzer's own
/// facts `E` (flattened; [`NoMoreFacts`] for none).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CaptureFacts<E> {
    /// Packets whose link type or headers could not be read.
    pub undecodable_packets: u64,
    /// IP fragments of datagrams never completed, or too short to reassemble.
    pub ip_fragments_skipped: u64,
    /// Packets decoded through each encapsulation met (vlan, mpls, pppoe,
    /// ppp, llc-snap, vntag, nsh, cisco-metadata, wlan, radio-header, pktap,
    /// gre, erspan-i, erspan-ii, erspan-iii, vxlan, geneve, gtp-u, teredo,
    /// ayiya, ip-in-ip, 6in4, 4in6, 6in6, ip-fragments); analyzers see the
    /// inner traffic.
    pub encapsulations: OrderedMap<&'static str, u64>,
    /// The analyzer's own facts.
    #[serde(flatten)]
    pub own: E,
}

/// The analyzer adds nothing to [`CaptureFacts`].
#[derive(Debug, Clone, Copy, Default, Serialize, schemars::JsonSchema)]
pub struct NoMoreFacts {}

/// An object whose keys keep the order they were given in (most frequent
/// first, say, or the packet path's order), where a `BTreeMap` would sort
/// them and a `serde_json::Map` would lose the values' type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderedMap<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for OrderedMap<K, V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<K: Serialize, V: Serialize> Serialize for OrderedMap<K, V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<K, V: schemars::JsonSchema> schemars::JsonSchema for OrderedMap<K, V> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("OrderedMap_of_{}", V::schema_name()).into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "object", "additionalProperties": generator.subschema_for::<V>()})
    }
}

/// Bytes as lower-case hex, `aabbcc`: how results write digests
/// (SHA-256, JA3's MD5) and raw data.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        push_hex_pair(&mut out, *b);
    }
    out
}

/// One byte as two lower-case hex digits: by table, as fingerprints of
/// every hello and certificate are written, not through `fmt`.
fn push_hex_pair(out: &mut String, byte: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push(char::from(DIGITS[usize::from(byte >> 4)]));
    out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
}

/// Bytes as lower-case hex pairs joined by colons, `aa:bb:cc`: how results
/// write MAC and other link-layer addresses (mcpcap's format) and client ids.
pub fn hex_colon(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        push_hex_pair(&mut out, *b);
    }
    out
}

/// `analysis_timestamp`: the time of the analysis, RFC 3339 in UTC.
pub fn analysis_timestamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    crate::Timestamp { secs: now.as_secs() as i64, nanos: now.subsec_nanos() }.to_rfc3339()
}

/// A finding worth an analyst's look, in the one shape every analyzer's
/// `observations` list uses: a stable `type` to match on, a sentence that
/// says what was seen and what it may mean, and examples (objects or
/// strings naming the hosts, names or messages involved; at most a handful).
// `K` is the analyzer's enum of kinds (serialized snake_case, each variant
// documented), so the schema lists every `type` a client can meet.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Observation<K> {
    /// What kind of finding (stable, snake_case).
    #[serde(rename = "type")]
    pub kind: K,
    /// What was seen, with its numbers, and what it may mean.
    pub detail: String,
    /// Where it was seen (a few at most).
    pub examples: Vec<Value>,
}

impl<K> Observation<K> {
    /// A finding without examples.
    pub fn new(kind: K, detail: impl Into<String>) -> Self {
        Observation { kind, detail: detail.into(), examples: Vec::new() }
    }

    /// The same finding, with `examples`.
    pub fn with_examples<T: Serialize>(mut self, examples: impl IntoIterator<Item = T>) -> Self {
        self.examples = examples.into_iter().map(|e| serde_json::to_value(e).unwrap_or(Value::Null)).collect();
        self
    }
}

/// JSON Schema fragments for the conventional parameters.
pub mod schema {
    use serde_json::{Value, json};

    use super::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};

    /// The JSON Schema of what `T` serializes to, for a tool's
    /// `result_schema`: generated from the type (its `///` docs become the
    /// descriptions clients read). Types used in one place are inlined;
    /// those used in several (a message entry, a `{min, avg, max}`) are
    /// defined once under `$defs`, so that `tools/list`, which carries every
    /// tool's schema, stays small. The integer bounds schemars derives from
    /// Rust types (`minimum: 0` of every unsigned count, `maximum: 65535` of a
    /// port) say nothing a reader of results needs and are left out.
    pub fn of_result<T: schemars::JsonSchema>() -> Value {
        let mut settings = schemars::generate::SchemaSettings::draft2020_12().for_serialize();
        settings.inline_subschemas = false;
        settings.meta_schema = None;
        let mut schema = settings.into_generator().into_root_schema_for::<T>().to_value();
        inline_definitions(&mut schema);
        drop_integer_bounds(&mut schema);
        tidy(schema)
    }

    /// The JSON Schema of a result with the paged list `items` (see
    /// [`super::into_paged_result`]): that of [`of_result`], with only the
    /// fields a later page keeps required, and its description saying so.
    pub fn of_paged_result<T: schemars::JsonSchema>(items: &str) -> Value {
        let mut schema = of_result::<T>();
        if let Some(Value::Array(required)) = schema.get_mut("required") {
            required.retain(|key| key.as_str().is_some_and(|k| super::kept_on_later_pages(k, items)));
        }
        let note = format!(
            "A later page (offset > 0) carries only `{items}`, `pagination`, {}: the summary comes with the first page.",
            super::PAGE_FIELDS.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
        );
        if let Some(object) = schema.as_object_mut() {
            let text = match object.get("description").and_then(Value::as_str) {
                Some(doc) => format!("{doc} {note}"),
                None => note,
            };
            object.insert("description".into(), Value::String(text));
        }
        schema
    }

    /// The JSON Schema of the parameters `T` deserializes, for a tool's
    /// `params_schema`, generated as [`of_result`] is (`deny_unknown_fields`
    /// becomes `additionalProperties: false`; an `Option` is not required).
    pub fn of_params<T: schemars::JsonSchema>() -> Value {
        let mut schema = generate::<T>(schemars::generate::SchemaSettings::draft2020_12().for_deserialize());
        // The type's doc is for developers; the tool's description is the clients'.
        if let Some(object) = schema.as_object_mut() {
            object.remove("description");
        }
        // `#[serde(default)]` on an `Option` says "absent is fine", which
        // leaving it out of `required` already says; a `default: null`
        // beside `type: integer` would contradict the type.
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            for property in properties.values_mut().filter_map(Value::as_object_mut) {
                if property.get("default").is_some_and(Value::is_null) {
                    property.remove("default");
                }
            }
            // Every tool takes the selection, which the component glue
            // takes out before the analyzer's own parameters are read.
            for (name, property) in crate::selection::Selection::schema_properties() {
                properties.entry(name).or_insert(property);
            }
        }
        schema
    }

    /// The `max_packets` parameter, for `#[schemars(schema_with = ...)]` on
    /// a typed parameter (see [`max_packets`]).
    pub fn max_packets_param(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        max_packets().try_into().expect("an object is a schema")
    }

    /// Parameters are inlined whole: some clients hand input schemas to a
    /// model's tool-calling interface, which may not resolve a `$ref`.
    fn generate<T: schemars::JsonSchema>(mut settings: schemars::generate::SchemaSettings) -> Value {
        settings.inline_subschemas = true;
        settings.meta_schema = None;
        tidy(settings.into_generator().into_root_schema_for::<T>().to_value())
    }

    fn tidy(mut schema: Value) -> Value {
        // The Rust type's name means nothing to a client.
        if let Some(object) = schema.as_object_mut() {
            object.remove("title");
        }
        drop_nonstandard_formats(&mut schema);
        unwrap_descriptions(&mut schema);
        schema
    }

    const DEFINITIONS: &str = "$defs";
    const REFERENCE_PREFIX: &str = "#/$defs/";

    /// Inlines each definition referenced only once where it is referenced
    /// (the reference's own keys, such as the field's description, win over
    /// the type's); `$defs` keeps the others, and is dropped when nothing is
    /// left in it.
    fn inline_definitions(schema: &mut Value) {
        let Some(Value::Object(mut definitions)) = schema.as_object_mut().and_then(|o| o.remove(DEFINITIONS)) else {
            return;
        };
        let mut uses = std::collections::BTreeMap::<String, usize>::new();
        count_references(schema, &mut uses);
        definitions.values().for_each(|d| count_references(d, &mut uses));
        let once: serde_json::Map<String, Value> = definitions
            .iter()
            .filter(|(name, _)| uses.get(*name) == Some(&1))
            .map(|(name, definition)| (name.clone(), definition.clone()))
            .collect();
        definitions.retain(|name, _| !once.contains_key(name) && uses.contains_key(name));
        substitute(schema, &once, 0);
        definitions.values_mut().for_each(|d| substitute(d, &once, 0));
        if !definitions.is_empty()
            && let Some(object) = schema.as_object_mut()
        {
            object.insert(DEFINITIONS.into(), Value::Object(definitions));
        }
    }

    /// Replaces `schema`, a `$ref` to one of `definitions`, by the definition
    /// with the reference's other keys over it.
    fn inline_reference(schema: &mut Value, definitions: &serde_json::Map<String, Value>) -> bool {
        let Value::Object(object) = schema else { return false };
        let target = object.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(REFERENCE_PREFIX));
        let Some(definition) = target.and_then(|name| definitions.get(name)) else { return false };
        let mut inlined = definition.clone();
        object.remove("$ref");
        if let Some(inlined_object) = inlined.as_object_mut() {
            inlined_object.extend(std::mem::take(object));
        }
        *schema = inlined;
        true
    }

    fn count_references(schema: &Value, uses: &mut std::collections::BTreeMap<String, usize>) {
        match schema {
            Value::Object(object) => {
                if let Some(name) =
                    object.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(REFERENCE_PREFIX))
                {
                    *uses.entry(name.to_string()).or_default() += 1;
                }
                object.values().for_each(|v| count_references(v, uses));
            }
            Value::Array(items) => items.iter().for_each(|v| count_references(v, uses)),
            _ => {}
        }
    }

    /// Inlines the definitions of `once` where they are referenced; `depth`
    /// bounds a definition that (through others used once) contains itself.
    fn substitute(schema: &mut Value, once: &serde_json::Map<String, Value>, depth: usize) {
        if depth < 32 && inline_reference(schema, once) {
            substitute(schema, once, depth + 1);
            return;
        }
        match schema {
            Value::Object(object) => object.values_mut().for_each(|v| substitute(v, once, depth)),
            Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, once, depth)),
            _ => {}
        }
    }

    /// Removes `minimum` and `maximum` from integer schemas.
    fn drop_integer_bounds(schema: &mut Value) {
        match schema {
            Value::Object(object) => {
                let integer = match object.get("type") {
                    Some(Value::String(t)) => t == "integer",
                    Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
                    _ => false,
                };
                if integer {
                    object.remove("minimum");
                    object.remove("maximum");
                }
                object.values_mut().for_each(drop_integer_bounds);
            }
            Value::Array(items) => items.iter_mut().for_each(drop_integer_bounds),
            _ => {}
        }
    }

    /// Joins the lines of each `description` (a `///` doc wrapped at the
    /// source's width) into one, keeping blank-line paragraph breaks: a
    /// client shows the text, not the source's line breaks.
    fn unwrap_descriptions(schema: &mut Value) {
        match schema {
            Value::Object(object) => {
                if let Some(Value::String(text)) = object.get_mut("description") {
                    *text = text
                        .split("\n\n")
                        .map(|p| p.split('\n').collect::<Vec<_>>().join(" "))
                        .collect::<Vec<_>>()
                        .join("\n\n");
                }
                object.values_mut().for_each(unwrap_descriptions);
            }
            Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
            _ => {}
        }
    }

    /// Removes the `format`s schemars gives Rust types that JSON Schema
    /// does not define: those of number types (`uint64`, `double`, ...)
    /// and `ip` (`IpAddr`; `ipv4` and `ipv6` are standard and stay). A
    /// client that validates formats strictly (ajv's default) refuses a
    /// schema that names a format it does not know; `minimum` still says
    /// what matters of a number.
    fn drop_nonstandard_formats(schema: &mut Value) {
        match schema {
            Value::Object(object) => {
                let nonstandard = object.get("format").and_then(Value::as_str).is_some_and(|f| {
                    matches!(f, "double" | "float" | "ip") || f.strip_prefix("uint").or(f.strip_prefix("int")).is_some()
                });
                if nonstandard {
                    object.remove("format");
                }
                object.values_mut().for_each(drop_nonstandard_formats);
            }
            Value::Array(items) => items.iter_mut().for_each(drop_nonstandard_formats),
            _ => {}
        }
    }

    /// The `max_packets` parameter.
    pub fn max_packets() -> Value {
        json!({
            "type": "integer",
            "minimum": 1,
            "description": "Analyze at most this many packets (the server's --max-packets, if lower, wins); \
                            with time_from, time_to or filter, this many selected packets. The result's \
                            `truncated` says whether the cap cut the analysis short."
        })
    }

    /// The `max_result_bytes` parameter, for `#[schemars(schema_with = ...)]`.
    pub fn max_result_bytes_param(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        json!({
            "type": "integer",
            "minimum": super::MIN_RESULT_BYTES,
            "maximum": super::RESULT_BYTE_BUDGET,
            "default": super::RESULT_BYTE_BUDGET,
            "description": "Largest result, in bytes of JSON: the page, then the longest lists, are cut to fit, \
                            and the result says where (pagination.ended_by_size, warnings)."
        })
        .try_into()
        .expect("an object is a schema")
    }

    /// The `limit` parameter of a paged list.
    pub fn limit(what: &str) -> Value {
        json!({
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_PAGE_LIMIT,
            "default": DEFAULT_PAGE_LIMIT,
            "description": format!("How many {what} to return (statistics always cover all of them).")
        })
    }

    /// The `offset` parameter of a paged list.
    pub fn offset(what: &str) -> Value {
        json!({
            "type": "integer",
            "minimum": 0,
            "default": 0,
            "description": format!("How many {what} to skip: pass the previous result's pagination.next_offset.")
        })
    }
}

/// Defines the two `#[schemars(schema_with = ...)]` functions of a paged
/// list's `limit` and `offset` parameters, their descriptions naming the
/// items: `paging_schemas!(messages_limit, messages_offset, "DNS messages",
/// "DNS messages");` with `default = N` after them for another page size.
#[macro_export]
macro_rules! paging_schemas {
    ($limit:ident, $offset:ident, $limit_items:expr, $offset_items:expr $(, default = $default:expr)?) => {
        fn $limit(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
            #[allow(unused_mut)]
            let mut limit = $crate::conventions::schema::limit($limit_items);
            $(limit["default"] = ($default).into();)?
            limit.try_into().expect("an object is a schema")
        }
        fn $offset(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
            $crate::conventions::schema::offset($offset_items).try_into().expect("an object is a schema")
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hex_writes_every_byte_as_two_lower_case_digits() {
        let all: Vec<u8> = (0..=255).collect();
        let expected: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&all), expected);
        assert_eq!(hex(&[]), "");
        assert_eq!(hex_colon(&[0x00, 0xab, 0xff]), "00:ab:ff");
        assert_eq!(hex_colon(&[7]), "07");
    }

    /// A result type as analyzers write them.
    #[derive(Serialize, schemars::JsonSchema)]
    struct Example {
        /// How many.
        count: u64,
        ratio: Option<f64>,
        inner: Vec<Inner>,
        #[serde(flatten)]
        envelope: Envelope,
    }

    #[derive(Serialize, schemars::JsonSchema)]
    struct Inner {
        /// A port, in a doc
        /// of two lines.
        port: u16,
        host: std::net::IpAddr,
    }

    /// Parameters as analyzers write them.
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct ExampleParams {
        #[serde(default)]
        #[schemars(schema_with = "schema::max_packets_param")]
        max_packets: Option<u64>,
        /// Only this port.
        port: u16,
    }

    /// A page the caller already narrowed (a ranking, a table keyed by
    /// position) is paged like a streamed one: limit, byte budget, and where
    /// to continue.
    #[test]
    fn a_narrowed_page_continues_where_it_stops() {
        let paging = Paging { offset: 3, limit: 4 };
        let (items, info) = paging.page_of((3..10).map(|i| i.to_string()), 10);
        assert_eq!(items, ["3", "4", "5", "6"]);
        assert_eq!((info.total, info.returned, info.offset, info.next_offset), (10, 4, 3, Some(7)));
        assert!(!info.ended_by_size);
        let big = "x".repeat(PAGE_BYTE_BUDGET / 2);
        let (items, info) = paging.page_of(std::iter::repeat_n(big, 7), 10);
        assert_eq!((items.len(), info.next_offset, info.ended_by_size), (1, Some(4), true));
        let (items, info) = Paging { offset: 8, limit: 4 }.page_of(["8", "9"], 10);
        assert_eq!((items.len(), info.next_offset), (2, None), "the last page");
    }

    #[test]
    fn params_schemas_are_closed_and_require_only_what_is_not_optional() {
        let schema = schema::of_params::<ExampleParams>();
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!(["port"]));
        assert_eq!(schema["properties"]["max_packets"], schema::max_packets(), "the shared schema, untouched");
        assert_eq!(schema["properties"]["port"]["description"], "Only this port.");
        assert!(schema.get("description").is_none(), "{schema}");
    }

    #[test]
    fn result_schemas_inline_what_is_used_once_and_carry_no_rust_formats_or_bounds() {
        let schema = schema::of_result::<Example>();
        let text = schema.to_string();
        for absent in ["$ref", "$defs", "\"format\"", "\"title\"", "\"minimum\"", "\"maximum\""] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }
        let properties = schema["properties"].as_object().unwrap();
        let names: Vec<&str> = properties.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["count", "ratio", "inner", "warnings", "packets_analyzed", "max_packets", "truncated", "selection"]
        );
        assert_eq!(properties["count"]["description"], "How many.");
        assert_eq!(properties["inner"]["items"]["properties"]["port"]["description"], "A port, in a doc of two lines.");
        assert_eq!(properties["ratio"]["type"], json!(["number", "null"]));
        assert_eq!(properties["inner"]["items"]["properties"]["port"]["type"], "integer");
        assert_eq!(properties["inner"]["items"]["properties"]["host"], json!({"type": "string"}), "no `ip` format");
        // Every field is always written (null when absent), so every one is required.
        assert_eq!(schema["required"].as_array().unwrap().len(), names.len());
    }

    /// A result type using one type in two places, as a result lists two
    /// tables of the same entries.
    #[derive(Serialize, schemars::JsonSchema)]
    struct Twice {
        /// The first table.
        first: Vec<Inner>,
        /// The other.
        second: Inner,
        once: Once,
    }

    /// Used once.
    #[derive(Serialize, schemars::JsonSchema)]
    struct Once {
        inner_again: Vec<Inner>,
    }

    /// A type used in several places is defined once under `$defs` and
    /// referenced; one used once is inlined, with the field's own doc.
    #[test]
    fn result_schemas_define_shared_types_once() {
        let schema = schema::of_result::<Twice>();
        let definitions = schema["$defs"].as_object().expect("a $defs for Inner");
        assert_eq!(definitions.keys().collect::<Vec<_>>(), ["Inner"], "{schema}");
        assert_eq!(definitions["Inner"]["properties"]["port"]["description"], "A port, in a doc of two lines.");
        let properties = &schema["properties"];
        assert_eq!(properties["first"]["items"]["$ref"], "#/$defs/Inner");
        assert_eq!(properties["first"]["description"], "The first table.");
        assert_eq!(properties["once"]["description"], "Used once.", "inlined with its doc");
        assert_eq!(properties["once"]["properties"]["inner_again"]["items"]["$ref"], "#/$defs/Inner");
        assert_eq!(schema.to_string().matches("A port, in a doc").count(), 1, "one definition: {schema}");
    }

    /// A result with a page of `items` entries of about 1 KB and a table of `table` bytes.
    fn paged_result(items: usize, table: usize) -> Value {
        let mut c: PageCollector<Value> = Paging::from_params(Some(1000), Some(10)).unwrap().collector();
        for i in 0..items + 10 {
            c.offer(|| json!({"n": i, "pad": "x".repeat(1000)}));
        }
        let (packets, pagination) = c.finish();
        json!({"table": "t".repeat(table), "packets": packets, "pagination": pagination, "warnings": []})
    }

    #[test]
    fn a_page_gives_way_to_keep_the_whole_result_in_budget() {
        let size = |v: &Value| serde_json::to_string(v).unwrap().len();
        let small = paged_result(20, 1000);
        let mut untouched = small.clone();
        fit_page(&mut untouched, "packets", RESULT_BYTE_BUDGET);
        assert_eq!(untouched, small, "a result within budget is left alone");

        let mut big = paged_result(30, 15_000);
        assert!(size(&big) > RESULT_BYTE_BUDGET);
        fit_page(&mut big, "packets", RESULT_BYTE_BUDGET);
        assert!(size(&big) <= RESULT_BYTE_BUDGET, "{}", size(&big));
        let kept = big["packets"].as_array().unwrap().len();
        assert!(kept > 15 && kept < 30, "{kept}: only what did not fit went");
        assert_eq!(big["pagination"]["returned"], kept);
        assert_eq!(big["pagination"]["next_offset"], 10 + kept, "continues after the kept items");
        assert_eq!(big["pagination"]["ended_by_size"], true);
        assert_eq!(big["packets"][0]["n"], 10, "the page's start stays");

        // A table alone over budget: one item stays, so paging moves on.
        let mut huge = paged_result(5, 200_000);
        fit_page(&mut huge, "packets", RESULT_BYTE_BUDGET);
        assert_eq!(huge["packets"].as_array().unwrap().len(), 1);
        assert_eq!(huge["pagination"]["next_offset"], 11);
    }

    /// A summary alone over budget: its largest cuttable collections are
    /// halved until the result fits, entries whole before what is inside
    /// the one kept; one warning names every cut; lists and tables of
    /// numbers, objects with field names, the page and the warnings are
    /// never cut.
    #[test]
    fn a_summary_over_budget_cuts_its_largest_lists_and_says_so() {
        let size = |v: &Value| serde_json::to_string(v).unwrap().len();
        let rows: Vec<Value> = (0..200).map(|i| json!({"name": format!("{i}-{}", "n".repeat(300))})).collect();
        let hops: Vec<Value> = (0..30).map(|i| json!({"hop": i, "pad": "h".repeat(100)})).collect();
        let mut result = json!({
            "table": {"10.0.0.1": {"listed": rows}, "small": ["a", "b"]},
            "by_id": {"0x01": [{"pad": "i".repeat(2000)}], "0x02": [{"pad": "j".repeat(2000)}]},
            "traces": [{"hops": hops}, {"hops": hops}],
            "histogram": {"<1ms": 3, "1-5ms": 4},
            "numbers": (0..100).collect::<Vec<u32>>(),
            "packets": [{"n": 1}, {"n": 2}],
            "pagination": {"offset": 0},
            "warnings": ["before"],
        });
        assert!(size(&result) > RESULT_BYTE_BUDGET);
        fit_lists(&mut result, "packets", RESULT_BYTE_BUDGET);
        assert!(size(&result) <= RESULT_BYTE_BUDGET, "{}", size(&result));
        let kept = result["table"]["10.0.0.1"]["listed"].as_array().unwrap().len();
        assert!((50..200).contains(&kept), "halved only as far as needed: {kept}");
        assert_eq!(result["table"]["10.0.0.1"]["listed"][0]["name"], rows_first(), "the first entries stay");
        assert_eq!(result["table"]["small"], json!(["a", "b"]), "an object with a field name is not cut");
        assert_eq!(result["numbers"].as_array().unwrap().len(), 100);
        assert_eq!(result["histogram"], json!({"<1ms": 3, "1-5ms": 4}), "a table of numbers stays whole");
        assert_eq!(result["packets"].as_array().unwrap().len(), 2);
        assert_eq!(
            result["warnings"],
            json!([
                "before",
                format!(
                    "Shortened to stay within {RESULT_BYTE_BUDGET} bytes of JSON (entries kept of all): \
                     `table.10.0.0.1.listed` {kept} of 200"
                )
            ])
        );

        // A smaller budget: a table keyed by data loses entries whole (the
        // first stay), a list its entries, then the kept entry its own list.
        fit_lists(&mut result, "packets", 4_000);
        assert!(size(&result) <= 4_000, "{}", size(&result));
        assert_eq!(result["by_id"], json!({"0x01": [{"pad": "i".repeat(2000)}]}));
        assert_eq!(result["traces"].as_array().unwrap().len(), 1);
        let hops_kept = result["traces"][0]["hops"].as_array().unwrap().len();
        assert!((1..30).contains(&hops_kept), "{hops_kept}");
        let warning = result["warnings"][2].as_str().unwrap();
        for named in ["`by_id` 1 of 2", "`traces` 1 of 2", &format!("`traces.0.hops` {hops_kept} of 30")] {
            assert!(warning.contains(named), "{named} in {warning}");
        }
        assert_eq!(result["histogram"], json!({"<1ms": 3, "1-5ms": 4}));
        assert_eq!(result["numbers"].as_array().unwrap().len(), 100);

        // A budget that one entry of each does not fit: the last entries go
        // too, largest first, and the warning says so.
        fit_lists(&mut result, "packets", 1_500);
        assert!(size(&result) <= 1_500, "{}", size(&result));
        assert_eq!(result["by_id"], json!({}), "{result}");
        assert_eq!(result["numbers"].as_array().unwrap().len(), 100, "numbers are never cut");
        assert_eq!(result["packets"].as_array().unwrap().len(), 2, "nor the page");
        assert!(result["warnings"][3].as_str().unwrap().contains("`by_id` 0 of 1"), "{}", result["warnings"]);

        // Still too much: the tables of numbers the analyzer names (top
        // talkers) go last; other tables of numbers (a histogram, whose
        // buckets its schema requires), lists of numbers and fields never.
        let talkers: serde_json::Map<String, Value> =
            (0..100).map(|i| (format!("10.0.{}.{}", i / 250, i % 250), json!(1000 - i))).collect();
        let histogram = json!({"<1ms": 1, "1-5ms": 2, "5-10ms": 3});
        let mut counts = json!({"stats": {"top_sources": talkers, "histogram": histogram}, "total": 5,
                                "numbers": [1, 2, 3], "warnings": []});
        let mut unnamed = counts.clone();
        fit_lists(&mut unnamed, "", 1_000);
        assert!(size(&unnamed) > 1_000, "no table named, nothing cut");
        fit_lists_and_tables(&mut counts, "", 1_000, &["stats.top_sources"]);
        assert!(size(&counts) <= 1_000, "{}", size(&counts));
        let kept = counts["stats"]["top_sources"].as_object().unwrap();
        assert!((1..100).contains(&kept.len()), "{}", kept.len());
        assert_eq!(kept.values().next(), Some(&json!(1000)), "the first (largest) stay");
        assert_eq!(counts["stats"]["histogram"], histogram);
        assert_eq!((counts["total"].clone(), counts["numbers"].clone()), (json!(5), json!([1, 2, 3])));

        let mut small = json!({"list": ["a", "b"], "warnings": []});
        fit_lists(&mut small, "", RESULT_BYTE_BUDGET);
        assert_eq!(small, json!({"list": ["a", "b"], "warnings": []}), "a result within budget is left alone");
    }

    fn rows_first() -> String {
        format!("0-{}", "n".repeat(300))
    }

    /// A later page carries the page and what limits the figures, not the
    /// summary, and its schema requires only those.
    #[test]
    fn a_later_page_leaves_the_summary_to_the_first() {
        #[derive(Serialize, schemars::JsonSchema)]
        /// A paged result.
        struct Paged {
            #[serde(flatten)]
            header: Header,
            summary: u64,
            packets: Vec<u64>,
            pagination: PageInfo,
            #[serde(flatten)]
            envelope: Envelope,
        }
        let make = |paging: Paging| {
            let (packets, pagination) = paging.page_of((paging.offset as u64..10).collect::<Vec<_>>(), 10);
            let result = Paged {
                header: Header { file: "f".into(), analysis_timestamp: "t".into() },
                summary: 7,
                packets,
                pagination,
                envelope: Envelope {
                    warnings: vec!["w".into()],
                    budget: BudgetReport { packets_analyzed: 10, max_packets: None, truncated: false, selection: None },
                },
            };
            into_paged_result(&result, "packets", paging, RESULT_BYTE_BUDGET).unwrap()
        };
        let keys = |v: &Value| {
            let mut keys = v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
            keys.sort();
            keys
        };
        let first = make(Paging { offset: 0, limit: 4 });
        assert_eq!(first["summary"], 7);
        let later = make(Paging { offset: 4, limit: 4 });
        let mut expected: Vec<String> =
            ["packets", "pagination"].into_iter().chain(PAGE_FIELDS).map(String::from).collect();
        expected.sort();
        assert_eq!(keys(&later), expected);
        assert_eq!(later["packets"], json!([4, 5, 6, 7]));

        let schema = schema::of_paged_result::<Paged>("packets");
        let mut required: Vec<String> =
            schema["required"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_string()).collect();
        required.sort();
        assert_eq!(required, expected, "the summary is optional, the page's fields are not");
        assert!(schema["properties"]["summary"].is_object());
        let description = schema["description"].as_str().unwrap();
        assert!(description.starts_with("A paged result.") && description.contains("later page"), "{description}");
    }

    #[test]
    fn collector_keeps_only_the_page_and_counts_all() {
        let mut c: PageCollector<i32> = Paging::from_params(Some(2), Some(3)).unwrap().collector();
        let mut built = 0;
        for i in 0..10 {
            c.offer(|| {
                built += 1;
                i
            });
        }
        let (items, info) = c.finish();
        assert_eq!(items, vec![3, 4]);
        assert_eq!(built, 2, "items off the page are never built");
        assert_eq!(
            info,
            PageInfo { total: 10, returned: 2, offset: 3, limit: 2, next_offset: Some(5), ended_by_size: false }
        );
    }

    #[test]
    fn last_page_has_no_next_offset() {
        let mut c = Paging::from_params(Some(5), Some(8)).unwrap().collector();
        (0..10).for_each(|i| c.offer(|| i));
        let (items, info) = c.finish();
        assert_eq!(items, vec![8, 9]);
        assert_eq!(info.next_offset, None);
        let mut past_end = Paging::from_params(None, Some(50)).unwrap().collector();
        (0..10).for_each(|i| past_end.offer(|| i));
        assert_eq!(
            past_end.finish().1,
            PageInfo {
                total: 10,
                returned: 0,
                offset: 50,
                limit: DEFAULT_PAGE_LIMIT,
                next_offset: None,
                ended_by_size: false
            }
        );
    }

    #[test]
    fn a_page_ends_early_when_its_json_would_be_too_large() {
        // Each item is 12 bytes of JSON ("xxxxxxxxxx" plus a separator).
        let mut c = Paging::from_params(Some(100), Some(0)).unwrap().collector().with_byte_budget(40);
        (0..10).for_each(|_| c.offer(|| "x".repeat(10)));
        let (items, info) = c.finish();
        assert_eq!(items.len(), 3);
        assert_eq!(info.next_offset, Some(3));
        assert!(info.ended_by_size);
        assert_eq!(serde_json::to_value(&info).unwrap()["ended_by_size"], true);
        // A single item larger than the budget is still returned.
        let mut big = Paging::from_params(None, None).unwrap().collector().with_byte_budget(5);
        (0..3).for_each(|_| big.offer(|| "y".repeat(50)));
        assert_eq!(big.finish().0.len(), 1);
    }

    #[test]
    fn limits_are_checked() {
        assert!(matches!(Paging::from_params(Some(1001), None), Err(RunError::BadParams(_))));
        assert!(matches!(PacketBudget::new(Some(0), None), Err(RunError::BadParams(_))));
    }

    #[test]
    fn budget_takes_the_lower_cap_and_reports_when_hit() {
        for (param, server, expected) in
            [(Some(5), Some(3), Some(3)), (Some(2), Some(9), Some(2)), (None, Some(4), Some(4)), (None, None, None)]
        {
            let mut b = PacketBudget::new(param, server).unwrap();
            let admitted = (0..10).filter(|_| b.admit()).count() as u64;
            assert_eq!(admitted, expected.unwrap_or(10));
            assert_eq!(b.summary().truncated, expected.is_some());
            assert_eq!(b.summary().max_packets, expected);
        }
        let mut exact = PacketBudget::new(Some(3), None).unwrap();
        (0..3).for_each(|_| assert!(exact.admit()));
        assert!(!exact.summary().truncated, "not hit until a 4th packet is refused");
    }
}
