-- Projection, filter and functions with NULL semantics.
CREATE TABLE bid (auction BIGINT, bidder INT, price BIGINT, ts TIMESTAMP(3), channel VARCHAR)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/bids.csv', 'format' = 'csv');
CREATE TABLE out1 (auction BIGINT, eur DECIMAL(23, 3), big BOOLEAN, ch VARCHAR, hr BIGINT, label VARCHAR, up VARCHAR, len INT, sub VARCHAR)
WITH ('connector' = 'filesystem', 'path' = '${OUT}/out1.csv', 'format' = 'csv');
INSERT INTO out1
SELECT auction, 0.908 * price, price > 200, COALESCE(NULLIF(channel, ''), 'none'), HOUR(ts),
       CASE WHEN price IS NULL THEN 'unknown' WHEN price BETWEEN 100 AND 300 THEN 'mid' ELSE 'high' END,
       UPPER(channel), CHAR_LENGTH(channel), SUBSTRING(channel FROM 1 FOR 3)
FROM bid WHERE auction IN (1, 3) OR bidder = 11;
