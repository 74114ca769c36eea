//! YSB events as fixed-width binary records, the layouts the scale-up literature measures: 78
//! bytes (Zeuch et al., Grizzly: 16-byte ids, 9-character type strings) and 64 bytes
//! (LightSaber: eight 64-bit integers). The generator writes events into records and the
//! source decodes only the declared columns out of them, column by column, so a run reads what
//! those systems read and the benchmark's roofline holds for the record size.

use crate::generators::{ysb_event, AD_TYPES, EVENT_TYPES};
use darwin_common::DataType;
use darwin_runtime::{Batch, Column, ColumnData, StrVec};

/// How one field sits in a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A little-endian signed integer of 8 bytes.
    I64,
    /// A 128-bit id whose first 8 bytes (little-endian) are the numeric id the query keys on.
    Id128,
    /// A NUL-padded ASCII string of this many bytes.
    Chars(usize),
    /// An IPv4 address in 4 bytes, read as dotted text.
    Ipv4,
}

impl Kind {
    fn width(self) -> usize {
        match self {
            Kind::I64 => 8,
            Kind::Id128 => 16,
            Kind::Chars(n) => n,
            Kind::Ipv4 => 4,
        }
    }

    fn data_type(self, name: &str) -> DataType {
        match self {
            Kind::I64 if name == "event_time" => DataType::Timestamp,
            Kind::I64 | Kind::Id128 => DataType::BigInt,
            Kind::Chars(_) | Kind::Ipv4 => DataType::Varchar,
        }
    }
}

/// A record layout of the YSB event table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 78 bytes: user, page and ad id (16 each), ad type and event type (9 characters each),
    /// event time (8), IPv4 address (4).
    Bytes78,
    /// 64 bytes: event time, padding, user, page, ad id, ad type code, event type code (0 view,
    /// 1 click, 2 purchase), IPv4 address as a number; 8 bytes each.
    Bytes64,
}

const FIELDS_78: &[(&str, Kind)] = &[
    ("user_id", Kind::Id128),
    ("page_id", Kind::Id128),
    ("ad_id", Kind::Id128),
    ("ad_type", Kind::Chars(9)),
    ("event_type", Kind::Chars(9)),
    ("event_time", Kind::I64),
    ("ip_address", Kind::Ipv4),
];

const FIELDS_64: &[(&str, Kind)] = &[
    ("event_time", Kind::I64),
    ("padding", Kind::I64),
    ("user_id", Kind::I64),
    ("page_id", Kind::I64),
    ("ad_id", Kind::I64),
    ("ad_type", Kind::I64),
    ("event_type", Kind::I64),
    ("ip_address", Kind::I64),
];

impl Layout {
    /// The layout the `layout` option names (`78` or `64`); None for anything else.
    pub fn parse(s: &str) -> Option<Layout> {
        match s.trim() {
            "78" => Some(Layout::Bytes78),
            "64" => Some(Layout::Bytes64),
            _ => None,
        }
    }

    fn fields(self) -> &'static [(&'static str, Kind)] {
        match self {
            Layout::Bytes78 => FIELDS_78,
            Layout::Bytes64 => FIELDS_64,
        }
    }

    /// Bytes per record: 78 or 64.
    pub fn record_size(self) -> usize {
        self.fields().iter().map(|(_, k)| k.width()).sum()
    }

    /// The columns a table over these records can declare, with their types.
    pub fn columns(self) -> Vec<(&'static str, DataType)> {
        self.fields().iter().map(|(n, k)| (*n, k.data_type(n))).collect()
    }

    fn offset(self, field: usize) -> usize {
        self.fields()[..field].iter().map(|(_, k)| k.width()).sum()
    }

    /// Appends YSB event `i` (see [`ysb_event`]) as one record.
    pub fn encode(self, i: u64, seed: Option<u64>, rate: u64, base: i64, out: &mut Vec<u8>) {
        let (user, page, ad, ad_type, event_type, ts, ipn) = ysb_event(i, seed, rate, base);
        let code = |names: &[&str], s: &str| names.iter().position(|n| *n == s).unwrap_or(0) as i64;
        let ip = [10u8, 0, (ipn / 16) as u8, (ipn % 16) as u8];
        match self {
            Layout::Bytes78 => {
                for id in [user, page, ad] {
                    out.extend_from_slice(&id.to_le_bytes());
                    // The id's other half: fixed per id, as a UUID's would be.
                    out.extend_from_slice(&(id ^ 0x5bd1_e995_0000_0000).wrapping_mul(0x9e37_79b9).to_le_bytes());
                }
                for s in [ad_type, event_type] {
                    let mut f = [0u8; 9];
                    let n = s.len().min(9);
                    f[..n].copy_from_slice(&s.as_bytes()[..n]);
                    out.extend_from_slice(&f);
                }
                out.extend_from_slice(&ts.to_le_bytes());
                out.extend_from_slice(&ip);
            }
            Layout::Bytes64 => {
                let ip = i64::from(u32::from_be_bytes(ip));
                for v in [
                    ts,
                    0,
                    user as i64,
                    page as i64,
                    ad as i64,
                    code(&AD_TYPES, ad_type),
                    code(&EVENT_TYPES, event_type),
                    ip,
                ] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
    }

    /// Decodes `records` (whole records) into the columns `fields` (indexes into
    /// [`Layout::columns`]), adding `shift` to the event time.
    pub fn decode(self, records: &[u8], fields: &[usize], shift: i64) -> Batch {
        let size = self.record_size();
        let n = records.len() / size;
        let columns = fields
            .iter()
            .map(|&f| {
                let (name, kind) = self.fields()[f];
                let at = self.offset(f);
                let rows = records.chunks_exact(size).map(move |r| &r[at..at + kind.width()]);
                let data = match kind {
                    Kind::I64 | Kind::Id128 => {
                        let shift = if name == "event_time" { shift } else { 0 };
                        ColumnData::I64(
                            rows.map(|b| i64::from_le_bytes(std::array::from_fn(|i| b[i])) + shift).collect(),
                        )
                    }
                    Kind::Chars(_) => {
                        let mut s = StrVec::with_capacity(n);
                        for b in rows {
                            let len = b.iter().position(|c| *c == 0).unwrap_or(b.len());
                            // Written by `encode` from ASCII names; anything else reads as empty.
                            s.push(std::str::from_utf8(&b[..len]).unwrap_or(""));
                        }
                        ColumnData::Str(s.into())
                    }
                    Kind::Ipv4 => {
                        let mut s = StrVec::with_capacity(n);
                        for b in rows {
                            s.push(&format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]));
                        }
                        ColumnData::Str(s.into())
                    }
                };
                Column::new(data, None)
            })
            .collect();
        Batch::new(columns, n)
    }
}

/// Recorded events of a table with a layout: the layout, the declared columns' fields in it,
/// and per partition the records.
pub type Recorded = (Layout, Vec<usize>, Vec<Vec<u8>>);

/// Events `first, first + step, ...` (below `end`, at most `max` of them) written as records.
pub fn encode_events(
    layout: Layout,
    first: u64,
    step: u64,
    end: u64,
    max: usize,
    (seed, rate, base): (Option<u64>, u64, i64),
    out: &mut Vec<u8>,
) -> u64 {
    let mut i = first;
    while i < end && out.len() / layout.record_size() < max {
        layout.encode(i, seed, rate, base, out);
        i += step;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_common::Value;

    #[test]
    fn layouts_have_their_published_sizes() {
        assert_eq!(Layout::Bytes78.record_size(), 78);
        assert_eq!(Layout::Bytes64.record_size(), 64);
    }

    /// Every field decodes to what the columnar generator produces for the same event.
    #[test]
    fn records_decode_to_the_generated_event() {
        for layout in [Layout::Bytes78, Layout::Bytes64] {
            for seed in [None, Some(7)] {
                let mut buf = Vec::new();
                let next = encode_events(layout, 5, 3, 3005, 400, (seed, 1000, 1_000), &mut buf);
                assert_eq!((buf.len(), next), (400 * layout.record_size(), 5 + 3 * 400));
                let all: Vec<usize> = (0..layout.columns().len()).collect();
                let b = layout.decode(&buf, &all, 10);
                for r in 0..400 {
                    let i = 5 + 3 * r as u64;
                    let (user, page, ad, ad_type, event_type, ts, ipn) = ysb_event(i, seed, 1000, 1_000);
                    let get = |name: &str| {
                        let f = layout.columns().iter().position(|(n, _)| *n == name).unwrap();
                        b.columns[f].get(r, layout.columns()[f].1)
                    };
                    assert_eq!(get("user_id"), Value::BigInt(user as i64));
                    assert_eq!(get("page_id"), Value::BigInt(page as i64));
                    assert_eq!(get("ad_id"), Value::BigInt(ad as i64));
                    assert_eq!(get("event_time"), Value::Timestamp(ts + 10));
                    match layout {
                        Layout::Bytes78 => {
                            assert_eq!(get("ad_type"), Value::Str(ad_type[..ad_type.len().min(9)].into()));
                            assert_eq!(get("event_type"), Value::Str(event_type.into()));
                            assert_eq!(get("ip_address"), Value::Str(format!("10.0.{}.{}", ipn / 16, ipn % 16)));
                        }
                        Layout::Bytes64 => {
                            let code = EVENT_TYPES.iter().position(|t| *t == event_type).unwrap() as i64;
                            assert_eq!(get("event_type"), Value::BigInt(code));
                            assert_eq!(
                                get("ip_address"),
                                Value::BigInt(0x0a00_0000 | (ipn / 16 * 256 + ipn % 16) as i64)
                            );
                        }
                    }
                }
            }
        }
    }
}
