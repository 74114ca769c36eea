//! The benchmark queries, written against the built-in generators. `${EVENTS}` is the number of
//! events (Nexmark: all three kinds together). Windowed results carry `window_end`, which the
//! benchmark sink uses to measure window latency.

/// Events per second of event time: 1M events per 10 s window, so windows close during a run
/// and window latency is measured.
pub const YSB_RATE: u64 = 100_000;

/// YSB, on events generated as columns (`layout` None) or as 78- or 64-byte records; the
/// 64-byte layout codes the event type as a number (0 is a view), as LightSaber's does.
pub fn ysb(layout: Option<&str>) -> Result<String, String> {
    let (event_type, view, option) = match layout {
        None => ("VARCHAR", "'view'", String::new()),
        Some("78") => ("VARCHAR", "'view'", ", 'layout' = '78'".into()),
        Some("64") => ("BIGINT", "0", ", 'layout' = '64'".into()),
        Some(other) => return Err(format!("unknown YSB record layout '{other}'; available: 78, 64")),
    };
    Ok(format!(
        "CREATE TABLE events (ad_id BIGINT, event_type {event_type}, event_time TIMESTAMP(3),
           WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND)
         WITH ('connector' = 'ysb', 'table' = 'events', 'events' = '${{EVENTS}}', 'rate' = '{YSB_RATE}'{option});
         CREATE TABLE campaigns (ad_id BIGINT, campaign_id BIGINT) WITH ('connector' = 'ysb', 'table' = 'campaigns');
         CREATE VIEW views AS
           SELECT e.ad_id, c.campaign_id, e.event_time FROM events e JOIN campaigns c ON e.ad_id = c.ad_id
           WHERE e.event_type = {view};
         CREATE TABLE results (window_end TIMESTAMP(3), campaign_id BIGINT, views BIGINT) WITH ('connector' = 'print');
         INSERT INTO results
         SELECT window_end, campaign_id, COUNT(*)
         FROM TABLE(TUMBLE(TABLE views, DESCRIPTOR(event_time), INTERVAL '10' SECOND))
         GROUP BY window_start, window_end, campaign_id;"
    ))
}

const BID: &str = "CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP(3), extra VARCHAR,
   WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
 WITH ('connector' = 'nexmark', 'table' = 'bid', 'events' = '${EVENTS}');";

/// The Nexmark queries the harness has, by name.
pub const NEXMARK_QUERIES: &[&str] = &["q0", "q1", "q2", "q5", "q7", "q8"];

/// The script of Nexmark query `q` (`q0` ... `q8`, see `NEXMARK_QUERIES`) with its tables; None for
/// an unknown name.
pub fn nexmark(q: &str) -> Option<String> {
    let body = match q {
        "q0" => "CREATE TABLE out0 (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP(3), extra VARCHAR) WITH ('connector' = 'blackhole');
                 INSERT INTO out0 SELECT auction, bidder, price, channel, url, date_time, extra FROM bid;",
        "q1" => "CREATE TABLE out1 (auction BIGINT, bidder BIGINT, price DECIMAL(23, 3), date_time TIMESTAMP(3)) WITH ('connector' = 'blackhole');
                 INSERT INTO out1 SELECT auction, bidder, 0.908 * price, date_time FROM bid;",
        "q2" => "CREATE TABLE out2 (auction BIGINT, price BIGINT) WITH ('connector' = 'blackhole');
                 INSERT INTO out2 SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;",
        "q5" => "CREATE TABLE out5 (auction BIGINT, num BIGINT, window_end TIMESTAMP(3)) WITH ('connector' = 'print');
                 INSERT INTO out5
                 SELECT AuctionBids.auction, AuctionBids.num, AuctionBids.endtime
                 FROM (SELECT auction, COUNT(*) AS num, window_start AS starttime, window_end AS endtime
                       FROM TABLE(HOP(TABLE bid, DESCRIPTOR(date_time), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
                       GROUP BY auction, window_start, window_end) AS AuctionBids
                 JOIN (SELECT MAX(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
                       FROM (SELECT COUNT(*) AS num, window_start AS starttime, window_end AS endtime
                             FROM TABLE(HOP(TABLE bid, DESCRIPTOR(date_time), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
                             GROUP BY auction, window_start, window_end) AS CountBids
                       GROUP BY CountBids.starttime, CountBids.endtime) AS MaxBids
                 ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime AND AuctionBids.num >= MaxBids.maxn;",
        "q7" => "CREATE TABLE out7 (auction BIGINT, price BIGINT, bidder BIGINT, date_time TIMESTAMP(3), window_end TIMESTAMP(3)) WITH ('connector' = 'print');
                 INSERT INTO out7
                 SELECT B.auction, B.price, B.bidder, B.date_time, B1.window_end
                 FROM bid B
                 JOIN (SELECT MAX(price) AS maxprice, window_end FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(date_time), INTERVAL '10' SECOND)) GROUP BY window_start, window_end) B1
                 ON B.price = B1.maxprice
                 WHERE B.date_time BETWEEN B1.window_end - INTERVAL '10' SECOND AND B1.window_end;",
        "q8" => {
            return Some(
                "CREATE TABLE person (id BIGINT, name VARCHAR, date_time TIMESTAMP(3), WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
                   WITH ('connector' = 'nexmark', 'table' = 'person', 'events' = '${EVENTS}');
                 CREATE TABLE auction (seller BIGINT, date_time TIMESTAMP(3), WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
                   WITH ('connector' = 'nexmark', 'table' = 'auction', 'events' = '${EVENTS}');
                 CREATE TABLE out8 (id BIGINT, name VARCHAR, window_end TIMESTAMP(3)) WITH ('connector' = 'print');
                 INSERT INTO out8
                 SELECT P.id, P.name, P.endtime
                 FROM (SELECT id, name, window_start AS starttime, window_end AS endtime
                       FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(date_time), INTERVAL '10' SECOND)) GROUP BY id, name, window_start, window_end) P
                 JOIN (SELECT seller, window_start AS starttime, window_end AS endtime
                       FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(date_time), INTERVAL '10' SECOND)) GROUP BY seller, window_start, window_end) A
                 ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;"
                    .to_string(),
            )
        }
        _ => return None,
    };
    Some(format!("{BID}\n{body}"))
}
