//! Generates the MAC vendor table `analyze_endpoints` names Ethernet
//! addresses with.
//!
//! The source is the IEEE Registration Authority's public registries (MA-L,
//! MA-M, MA-S, CID, IAB) as packaged by the `oui-data` crate (MIT). That
//! crate holds them as a 59 000-entry hash map of owned records, several
//! megabytes in the binary; it is only a build dependency here, and this
//! script turns it into sorted prefix arrays and one deduplicated name pool
//! (about 1.2 MB in the component), searched by binary search. Updating the
//! data means bumping `oui-data`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// One registry's assignments: prefix value and organization name.
type Assignments = Vec<(u64, String)>;

fn main() {
    let (mut ma_l, mut ma_m, mut ma_s) = (Assignments::new(), Assignments::new(), Assignments::new());
    for (_, record) in oui_data::OUI_ENTRIES.entries() {
        // The registry's own spacing is irregular (double spaces, NBSP).
        let name = record.organization().split_whitespace().collect::<Vec<_>>().join(" ");
        // "Private" assignments name no one: better no vendor than that.
        if name.is_empty() || name.eq_ignore_ascii_case("private") {
            continue;
        }
        let prefix = u64::from_str_radix(record.oui(), 16).expect("an OUI record's prefix is hexadecimal");
        match record.oui().len() {
            6 => ma_l.push((prefix, name)),
            7 => ma_m.push((prefix, name)),
            9 => ma_s.push((prefix, name)),
            other => panic!("an OUI prefix of {other} hex digits ({})", record.oui()),
        }
    }

    for list in [&mut ma_l, &mut ma_m, &mut ma_s] {
        list.sort_unstable();
        list.dedup_by_key(|(prefix, _)| *prefix);
    }
    let mut ids: BTreeMap<&str, u16> = BTreeMap::new();
    for (_, name) in ma_l.iter().chain(&ma_m).chain(&ma_s) {
        ids.insert(name, 0);
    }
    assert!(ids.len() <= usize::from(u16::MAX), "more vendor names than a u16 indexes");
    let mut pool = String::new();
    let mut ends = Vec::with_capacity(ids.len());
    for (i, (name, id)) in ids.iter_mut().enumerate() {
        *id = i as u16;
        pool.push_str(name);
        ends.push(pool.len() as u32);
    }

    let mut out = String::new();
    for (label, list) in [("MA_L", &ma_l), ("MA_M", &ma_m), ("MA_S", &ma_s)] {
        let kind = if label == "MA_S" { "u64" } else { "u32" };
        write_array(&mut out, &format!("{label}_PREFIXES"), kind, list.iter().map(|(prefix, _)| *prefix));
        write_array(&mut out, &format!("{label}_NAMES"), "u16", list.iter().map(|(_, name)| ids[name.as_str()].into()));
    }
    let _ = writeln!(out, "static NAME_POOL: &str = {pool:?};");
    write_array(&mut out, "NAME_ENDS", "u32", ends.iter().map(|&end| end.into()));

    let path = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("mac_vendors.rs");
    std::fs::write(path, out).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=build.rs");
}

/// Appends `static NAME: [KIND; N] = [...];` holding `values`.
fn write_array(out: &mut String, name: &str, kind: &str, values: impl ExactSizeIterator<Item = u64>) {
    let _ = write!(out, "static {name}: [{kind}; {}] = [", values.len());
    for value in values {
        let _ = write!(out, "{value},");
    }
    let _ = writeln!(out, "];");
}
