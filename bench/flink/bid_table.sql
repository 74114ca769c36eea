-- Nexmark-shaped bids from Flink's fastest built-in source: datagen emits a sequence number and
-- every column is computed from it (hot auctions, log-spread prices, hot channels, ~100-byte
-- extra). 10,000 events per second of event time, as the Nexmark generator's default.
CREATE TEMPORARY TABLE bid (
  seq BIGINT,
  auction AS 1000 + CASE WHEN MOD(seq, 2) = 0 THEN ABS(MOD(seq * 2654435761, 100)) ELSE ABS(MOD(seq * 40503, 10000)) END,
  bidder AS 1000 + ABS(MOD(seq * 69069, 1000)),
  price AS CAST(100 + ABS(MOD(seq * 2654435761, 1000000)) AS BIGINT),
  channel AS CASE CAST(ABS(MOD(seq, 8)) AS INT) WHEN 0 THEN 'Google' WHEN 1 THEN 'Facebook' WHEN 2 THEN 'Baidu' WHEN 3 THEN 'Apple' ELSE CONCAT('channel-', CAST(ABS(MOD(seq, 50)) AS STRING)) END,
  url AS CONCAT('https://www.nexmark.com/item.htm?query=1&channel_id=', CAST(ABS(MOD(seq * 7, 1000)) AS STRING)),
  extra AS REPEAT('x', 100),
  date_time AS TO_TIMESTAMP_LTZ(seq / 10, 3),
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND
) WITH (
  'connector' = 'datagen', 'number-of-rows' = '${ROWS}', 'rows-per-second' = '10000000000',
  'fields.seq.kind' = 'sequence', 'fields.seq.start' = '0', 'fields.seq.end' = '${ROWS}'
);
