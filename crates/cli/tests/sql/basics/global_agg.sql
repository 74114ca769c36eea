-- Non-windowed GROUP BY over a bounded input: one final result; DISTINCT, FILTER, HAVING.
CREATE TABLE bid (auction BIGINT, bidder INT, price BIGINT, ts TIMESTAMP(3), channel VARCHAR)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/bids.csv', 'format' = 'csv');
CREATE TABLE out5 (auction BIGINT, n BIGINT, np BIGINT, nd BIGINT, s BIGINT, mx BIGINT, mn VARCHAR, av BIGINT, big BIGINT)
WITH ('connector' = 'filesystem', 'path' = '${OUT}/out5.csv', 'format' = 'csv');
INSERT INTO out5
SELECT auction, COUNT(*), COUNT(price), COUNT(DISTINCT bidder), SUM(price), MAX(price), MIN(channel), AVG(price),
       COUNT(*) FILTER (WHERE price > 200)
FROM bid GROUP BY auction HAVING COUNT(*) >= 1;
