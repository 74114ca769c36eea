//! The built-in generators: Nexmark (the `nexmark` crate; `person`, `auction`, `bid`) and YSB
//! (ad events plus the 1,000-ad → 100-campaign table). Both are deterministic functions of the
//! event number, so partition `p` of `n` generates events `p, p + n, ...` and can replay from
//! any sequence number.

use crate::records::{encode_events, Layout, Recorded};
use darwin_common::time::parse_timestamp;
use darwin_common::{DataType, Value};
use darwin_plan::TableDef;
use darwin_runtime::{Batch, ColumnBuilder, Result, RuntimeError, SourceReader};
use nexmark::config::NexmarkConfig;
use nexmark::event::{Event, EventType};
use nexmark::EventGenerator;

/// 2023-01-01 00:00:00 UTC: generator runs are reproducible unless 'base-time' says otherwise.
pub const DEFAULT_BASE_TIME: i64 = 1_672_531_200_000;

fn norm(s: &str) -> String {
    s.to_ascii_lowercase().replace('_', "")
}

const PERSON: &[(&str, DataType)] = &[
    ("id", DataType::BigInt),
    ("name", DataType::Varchar),
    ("email_address", DataType::Varchar),
    ("credit_card", DataType::Varchar),
    ("city", DataType::Varchar),
    ("state", DataType::Varchar),
    ("date_time", DataType::Timestamp),
    ("extra", DataType::Varchar),
];
const AUCTION: &[(&str, DataType)] = &[
    ("id", DataType::BigInt),
    ("item_name", DataType::Varchar),
    ("description", DataType::Varchar),
    ("initial_bid", DataType::BigInt),
    ("reserve", DataType::BigInt),
    ("date_time", DataType::Timestamp),
    ("expires", DataType::Timestamp),
    ("seller", DataType::BigInt),
    ("category", DataType::BigInt),
    ("extra", DataType::Varchar),
];
const BID: &[(&str, DataType)] = &[
    ("auction", DataType::BigInt),
    ("bidder", DataType::BigInt),
    ("price", DataType::BigInt),
    ("channel", DataType::Varchar),
    ("url", DataType::Varchar),
    ("date_time", DataType::Timestamp),
    ("extra", DataType::Varchar),
];
const YSB_EVENTS: &[(&str, DataType)] = &[
    ("user_id", DataType::BigInt),
    ("page_id", DataType::BigInt),
    ("ad_id", DataType::BigInt),
    ("ad_type", DataType::Varchar),
    ("event_type", DataType::Varchar),
    ("event_time", DataType::Timestamp),
    ("ip_address", DataType::Varchar),
];
const YSB_CAMPAIGNS: &[(&str, DataType)] = &[("ad_id", DataType::BigInt), ("campaign_id", DataType::BigInt)];

/// The generated columns of each table, for `darwin gen` and docs.
pub fn nexmark_columns(table: &str) -> &'static [(&'static str, DataType)] {
    match table {
        "person" => PERSON,
        "auction" => AUCTION,
        _ => BID,
    }
}

/// The generated columns of a YSB table (`campaigns`, else the events table), in generated order.
pub fn ysb_columns(table: &str) -> &'static [(&'static str, DataType)] {
    if table == "campaigns" {
        YSB_CAMPAIGNS
    } else {
        YSB_EVENTS
    }
}

/// Maps declared columns onto generated fields by name (case and `_` ignored: `dateTime`
/// and `date_time` both work), checking types.
fn map_columns(t: &TableDef, fields: &[(&str, DataType)]) -> std::result::Result<Vec<usize>, String> {
    t.schema
        .fields
        .iter()
        .map(|f| {
            let i = fields.iter().position(|(n, _)| norm(n) == norm(&f.name)).ok_or_else(|| {
                format!(
                    "column '{}' is not generated; the columns are: {}",
                    f.name,
                    fields.iter().map(|(n, ty)| format!("{n} {ty}")).collect::<Vec<_>>().join(", ")
                )
            })?;
            if fields[i].1 != f.data_type {
                return Err(format!(
                    "column '{}' is generated as {}, but declared {}",
                    f.name, fields[i].1, f.data_type
                ));
            }
            Ok(i)
        })
        .collect()
}

fn num_option(t: &TableDef, key: &str) -> std::result::Result<Option<u64>, String> {
    t.option(key)
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("option '{key}' must be a non-negative whole number, not '{v}'"))
        })
        .transpose()
}

fn base_time(t: &TableDef) -> std::result::Result<i64, String> {
    match t.option("base-time") {
        None => Ok(DEFAULT_BASE_TIME),
        Some(v) => v.trim().parse::<i64>().ok().or_else(|| parse_timestamp(v)).ok_or_else(|| {
            format!("option 'base-time' must be epoch milliseconds or 'YYYY-MM-DD HH:MM:SS', not '{v}'")
        }),
    }
}

/// Checks a nexmark table: `table` is person, auction or bid, every declared column is a generated field
/// of it with the generated type, and `events`, `rate` and `base-time` are valid.
pub fn validate_nexmark(t: &TableDef) -> std::result::Result<(), String> {
    let table = t.option("table").ok_or("the 'table' option is required: person, auction or bid")?;
    if !matches!(table, "person" | "auction" | "bid") {
        return Err(format!("unknown nexmark table '{table}'; valid tables: person, auction, bid"));
    }
    map_columns(t, nexmark_columns(table))?;
    num_option(t, "events")?;
    if num_option(t, "rate")? == Some(0) {
        return Err("option 'rate' must be positive".into());
    }
    base_time(t)?;
    Ok(())
}

/// Checks a ysb table: `table` is events or campaigns, the declared columns are generated fields (of the
/// record `layout` if set), and `events`, `seed`, `rate` and `base-time` are valid.
pub fn validate_ysb(t: &TableDef) -> std::result::Result<(), String> {
    let table = t.option("table").ok_or("the 'table' option is required: events or campaigns")?;
    if !matches!(table, "events" | "campaigns") {
        return Err(format!("unknown ysb table '{table}'; valid tables: events, campaigns"));
    }
    match layout(t)? {
        Some(_) if table == "campaigns" => return Err("option 'layout' applies to the events table".into()),
        Some(l) => map_columns(t, &l.columns())?,
        None => map_columns(t, ysb_columns(table))?,
    };
    num_option(t, "events")?;
    num_option(t, "seed")?;
    if num_option(t, "rate")? == Some(0) {
        return Err("option 'rate' must be positive".into());
    }
    base_time(t)?;
    Ok(())
}

fn conn(connector: &str, m: String) -> RuntimeError {
    RuntimeError::Connector { connector: connector.into(), message: m }
}

/// How many of the first `events` Nexmark events are of a type (1 person, 3 auctions, 46 bids
/// in every 50).
pub fn nexmark_type_count(events: u64, ty: EventType) -> u64 {
    let (lo, hi) = match ty {
        EventType::Person => (0, 1),
        EventType::Auction => (1, 4),
        EventType::Bid => (4, 50),
    };
    let full = events / 50 * (hi - lo);
    let rem = events % 50;
    full + rem.clamp(lo, hi) - lo
}

/// Generates one Nexmark table (person, auction or bid); partition `p` of `n` generates the table's
/// events `p, p + n, ...`.
pub struct NexmarkSource {
    ty: EventType,
    gens: Vec<EventGenerator>,
    /// Per partition: events of this type still to generate (u64::MAX: unbounded).
    remaining: Vec<u64>,
    cols: Vec<usize>,
    types: Vec<DataType>,
}

impl NexmarkSource {
    /// A generator of table `t` in `partitions` partitions: `events` (all three kinds together) bounds it,
    /// and `rate` (default 10,000) is events per second of event time.
    pub fn new(t: &TableDef, partitions: usize) -> Result<Self> {
        let c = |m| conn("nexmark", m);
        let table = t.option("table").unwrap_or("bid");
        let ty = match table {
            "person" => EventType::Person,
            "auction" => EventType::Auction,
            _ => EventType::Bid,
        };
        let rate = num_option(t, "rate").map_err(c)?.unwrap_or(10_000) as usize;
        let config = NexmarkConfig {
            base_time: base_time(t).map_err(c)? as u64,
            first_rate: rate,
            next_rate: rate,
            ..Default::default()
        };
        let total = num_option(t, "events").map_err(c)?.map(|e| nexmark_type_count(e, ty));
        let n = partitions.max(1) as u64;
        let gens = (0..n)
            .map(|p| EventGenerator::new(config.clone()).with_type_filter(ty).with_offset(p).with_step(n))
            .collect();
        let remaining =
            (0..n).map(|p| total.map_or(u64::MAX, |t| if t > p { (t - p).div_ceil(n) } else { 0 })).collect();
        let cols = map_columns(t, nexmark_columns(table)).map_err(c)?;
        Ok(NexmarkSource { ty, gens, remaining, cols, types: t.schema.types() })
    }
}

fn push_person(p: &nexmark::event::Person, field: usize, b: &mut ColumnBuilder) {
    match field {
        0 => b.push_i64(p.id as i64),
        1 => b.push_str(&p.name),
        2 => b.push_str(&p.email_address),
        3 => b.push_str(&p.credit_card),
        4 => b.push_str(&p.city),
        5 => b.push_str(&p.state),
        6 => b.push_i64(p.date_time as i64),
        _ => b.push_str(&p.extra),
    }
}

fn push_auction(a: &nexmark::event::Auction, field: usize, b: &mut ColumnBuilder) {
    match field {
        0 => b.push_i64(a.id as i64),
        1 => b.push_str(&a.item_name),
        2 => b.push_str(&a.description),
        3 => b.push_i64(a.initial_bid as i64),
        4 => b.push_i64(a.reserve as i64),
        5 => b.push_i64(a.date_time as i64),
        6 => b.push_i64(a.expires as i64),
        7 => b.push_i64(a.seller as i64),
        8 => b.push_i64(a.category as i64),
        _ => b.push_str(&a.extra),
    }
}

fn push_bid(x: &nexmark::event::Bid, field: usize, b: &mut ColumnBuilder) {
    match field {
        0 => b.push_i64(x.auction as i64),
        1 => b.push_i64(x.bidder as i64),
        2 => b.push_i64(x.price as i64),
        3 => b.push_str(&x.channel),
        4 => b.push_str(&x.url),
        5 => b.push_i64(x.date_time as i64),
        _ => b.push_str(&x.extra),
    }
}

impl SourceReader for NexmarkSource {
    fn partitions(&self) -> usize {
        self.gens.len()
    }

    fn next_batch(&mut self, p: usize, max_rows: usize) -> Result<Option<Batch>> {
        let n = (max_rows as u64).min(self.remaining[p]) as usize;
        if n == 0 {
            return Ok(None);
        }
        let mut builders: Vec<ColumnBuilder> = self.types.iter().map(|t| ColumnBuilder::new(*t, n)).collect();
        for _ in 0..n {
            let Some(ev) = self.gens[p].next() else { break };
            for (b, f) in builders.iter_mut().zip(&self.cols) {
                match (&ev, self.ty) {
                    (Event::Person(x), EventType::Person) => push_person(x, *f, b),
                    (Event::Auction(x), EventType::Auction) => push_auction(x, *f, b),
                    (Event::Bid(x), EventType::Bid) => push_bid(x, *f, b),
                    (other, ty) => {
                        panic!("type-filtered nexmark generator for {ty:?} produced {other:?}")
                    }
                }
            }
        }
        if self.remaining[p] != u64::MAX {
            self.remaining[p] -= n as u64;
        }
        Ok(Some(Batch::new(builders.into_iter().map(ColumnBuilder::finish).collect(), n)))
    }

    fn offset(&self, p: usize) -> u64 {
        self.gens[p].offset()
    }

    fn seek(&mut self, p: usize, offset: u64) -> Result<()> {
        let n = self.gens.len() as u64;
        if offset % n != p as u64 % n {
            return Err(conn("nexmark", format!("offset {offset} does not belong to partition {p} of {n}")));
        }
        let consumed = (offset - self.gens[p].offset()) as i64 / n as i64;
        self.gens[p] = self.gens[p].clone().with_offset(offset);
        if self.remaining[p] != u64::MAX {
            self.remaining[p] = (self.remaining[p] as i64 - consumed).max(0) as u64;
        }
        Ok(())
    }
}

pub(crate) const AD_TYPES: [&str; 5] = ["banner", "modal", "sponsored-search", "mail", "mobile"];
pub(crate) const EVENT_TYPES: [&str; 3] = ["view", "click", "purchase"];

/// The YSB events table's record layout ('layout' = '78' or '64'), if it names one.
fn layout(t: &TableDef) -> std::result::Result<Option<Layout>, String> {
    t.option("layout")
        .map(|v| {
            Layout::parse(v)
                .ok_or_else(|| format!("option 'layout' must be '78' or '64' (bytes per record), not '{v}'"))
        })
        .transpose()
}

/// A YSB events table with a record layout, generated as records for the benchmark's replay:
/// per partition `p` of `partitions`, events `p, p + partitions, ...` below `events`. Returns
/// the layout, the declared columns' fields in it, and the records (None: no layout).
pub fn ysb_records(t: &TableDef, partitions: usize, events: u64) -> Result<Option<Recorded>> {
    let c = |m| conn("ysb", m);
    let Some(l) = layout(t).map_err(c)? else { return Ok(None) };
    let params = (
        num_option(t, "seed").map_err(c)?,
        num_option(t, "rate").map_err(c)?.unwrap_or(1_000_000),
        base_time(t).map_err(c)?,
    );
    let n = partitions.max(1) as u64;
    let parts = (0..n)
        .map(|p| {
            let mut out = Vec::new();
            encode_events(l, p, n, events, usize::MAX, params, &mut out);
            out
        })
        .collect();
    Ok(Some((l, map_columns(t, &l.columns()).map_err(c)?, parts)))
}

/// SplitMix64: a cheap, well-mixed hash of the event number for the seeded variant.
fn mix(seed: u64, i: u64) -> u64 {
    let mut z = seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One YSB event as values: deterministic (`ad = i mod 1000`, `type = i mod 3`) or, with a seed,
/// pseudo-random per event. Event time advances by `1000 / rate` ms per event.
pub fn ysb_event(
    i: u64,
    seed: Option<u64>,
    rate: u64,
    base: i64,
) -> (u64, u64, u64, &'static str, &'static str, i64, u64) {
    let (ad, ty, user, page) = match seed {
        None => (i % 1000, i % 3, i % 100_000, i % 10_000),
        Some(s) => {
            let h = mix(s, i);
            (h % 1000, (h >> 10) % 3, (h >> 20) % 100_000, (h >> 40) % 10_000)
        }
    };
    let ts = base + (i as i128 * 1000 / rate as i128) as i64;
    (user, page, ad, AD_TYPES[(i % 5) as usize], EVENT_TYPES[ty as usize], ts, i % 256)
}

/// Generates YSB's ad events (as columns, or as records of a `layout` decoded into batches) or its fixed
/// 1,000-row campaigns table.
pub struct YsbSource {
    campaigns: bool,
    next: Vec<u64>,
    step: u64,
    end: u64,
    seed: Option<u64>,
    rate: u64,
    base: i64,
    cols: Vec<usize>,
    types: Vec<DataType>,
    /// With a record layout: events are written as records into `records`, then decoded.
    layout: Option<Layout>,
    records: Vec<u8>,
}

impl YsbSource {
    /// A generator of table `t` in `partitions` partitions (the campaigns table always has one); `events`
    /// bounds it (unbounded without), and `rate` (default 1,000,000) is events per second of event time.
    pub fn new(t: &TableDef, partitions: usize) -> Result<Self> {
        let c = |m| conn("ysb", m);
        let campaigns = t.option("table") == Some("campaigns");
        let n = if campaigns { 1 } else { partitions.max(1) as u64 };
        let end = if campaigns { 1000 } else { num_option(t, "events").map_err(c)?.unwrap_or(u64::MAX) };
        let layout = layout(t).map_err(c)?;
        Ok(YsbSource {
            campaigns,
            next: (0..n).collect(),
            step: n,
            end,
            seed: num_option(t, "seed").map_err(c)?,
            rate: num_option(t, "rate").map_err(c)?.unwrap_or(1_000_000),
            base: base_time(t).map_err(c)?,
            cols: match layout {
                Some(l) => map_columns(t, &l.columns()),
                None => map_columns(t, ysb_columns(if campaigns { "campaigns" } else { "events" })),
            }
            .map_err(c)?,
            types: t.schema.types(),
            layout,
            records: Vec::new(),
        })
    }
}

impl SourceReader for YsbSource {
    fn partitions(&self) -> usize {
        self.next.len()
    }

    fn next_batch(&mut self, p: usize, max_rows: usize) -> Result<Option<Batch>> {
        if self.next[p] >= self.end {
            return Ok(None);
        }
        if let Some(l) = self.layout {
            self.records.clear();
            let params = (self.seed, self.rate, self.base);
            self.next[p] =
                encode_events(l, self.next[p], self.step, self.end, max_rows.max(1), params, &mut self.records);
            return Ok(Some(l.decode(&self.records, &self.cols, 0)));
        }
        let mut builders: Vec<ColumnBuilder> = self.types.iter().map(|t| ColumnBuilder::new(*t, max_rows)).collect();
        let mut rows = 0;
        let mut ip = String::new();
        while rows < max_rows && self.next[p] < self.end {
            let i = self.next[p];
            self.next[p] += self.step;
            rows += 1;
            if self.campaigns {
                for (b, f) in builders.iter_mut().zip(&self.cols) {
                    b.push_i64(if *f == 0 { i as i64 } else { (i / 10) as i64 });
                }
                continue;
            }
            let (user, page, ad, ad_type, event_type, ts, ipn) = ysb_event(i, self.seed, self.rate, self.base);
            for (b, f) in builders.iter_mut().zip(&self.cols) {
                match f {
                    0 => b.push_i64(user as i64),
                    1 => b.push_i64(page as i64),
                    2 => b.push_i64(ad as i64),
                    3 => b.push_str(ad_type),
                    4 => b.push_str(event_type),
                    5 => b.push_i64(ts),
                    _ => {
                        ip.clear();
                        use std::fmt::Write;
                        let _ = write!(ip, "10.0.{}.{}", ipn / 16, ipn % 16);
                        b.push(&Value::Str(ip.clone()));
                    }
                }
            }
        }
        Ok(Some(Batch::new(builders.into_iter().map(ColumnBuilder::finish).collect(), rows)))
    }

    fn offset(&self, p: usize) -> u64 {
        self.next[p]
    }

    fn seek(&mut self, p: usize, offset: u64) -> Result<()> {
        if offset % self.step != p as u64 % self.step {
            return Err(conn("ysb", format!("offset {offset} does not belong to partition {p} of {}", self.step)));
        }
        self.next[p] = offset;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_common::{Field, Schema};
    use std::collections::BTreeMap;

    fn table(connector: &str, name: &str, cols: &[(&str, DataType)], events: &str) -> TableDef {
        let mut options = BTreeMap::new();
        options.insert("table".to_string(), name.to_string());
        options.insert("events".to_string(), events.to_string());
        TableDef::new(name, Schema::new(cols.iter().map(|(n, t)| Field::new(*n, *t)).collect()), connector, options)
    }

    fn drain(r: &mut dyn SourceReader, p: usize) -> Vec<Vec<Value>> {
        let mut rows = Vec::new();
        while let Some(b) = r.next_batch(p, 7).unwrap() {
            if b.num_rows == 0 {
                break;
            }
            for i in 0..b.num_rows {
                rows.push(b.columns.iter().map(|c| c.get(i, DataType::BigInt)).collect());
            }
        }
        rows
    }

    #[test]
    fn generators_replay_from_an_offset() {
        for t in [
            table("nexmark", "bid", &[("auction", DataType::BigInt), ("price", DataType::BigInt)], "500"),
            table("ysb", "events", &[("ad_id", DataType::BigInt), ("user_id", DataType::BigInt)], "300"),
        ] {
            let open = || -> Box<dyn SourceReader> {
                if t.connector == "ysb" {
                    Box::new(YsbSource::new(&t, 2).unwrap())
                } else {
                    Box::new(NexmarkSource::new(&t, 2).unwrap())
                }
            };
            let mut full = open();
            let all = drain(full.as_mut(), 1);
            let mut r = open();
            let first = r.next_batch(1, 5).unwrap().unwrap();
            let pos = r.offset(1);
            let mut again = open();
            again.seek(1, pos).unwrap();
            let rest = drain(again.as_mut(), 1);
            assert_eq!(first.num_rows + rest.len(), all.len(), "{}", t.connector);
            assert_eq!(rest, all[5..].to_vec(), "{}", t.connector);
        }
    }
    #[test]
    fn nexmark_type_counts_follow_the_interleave() {
        assert_eq!(nexmark_type_count(50, EventType::Bid), 46);
        assert_eq!(nexmark_type_count(50, EventType::Person), 1);
        assert_eq!(nexmark_type_count(3, EventType::Auction), 2);
        assert_eq!(nexmark_type_count(1000, EventType::Auction), 60);
    }
}
