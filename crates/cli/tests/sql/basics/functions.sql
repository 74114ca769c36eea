-- String, regex, date and numeric functions.
CREATE TABLE bid (auction BIGINT, bidder INT, price BIGINT, ts TIMESTAMP(3), channel VARCHAR)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/bids.csv', 'format' = 'csv');
CREATE TABLE out2 (a VARCHAR, b VARCHAR, c VARCHAR, d BIGINT, e DOUBLE, f VARCHAR, g BOOLEAN, h VARCHAR)
WITH ('connector' = 'filesystem', 'path' = '${OUT}/out2.json', 'format' = 'json');
INSERT INTO out2
SELECT REGEXP_EXTRACT(channel, '([a-z]+)-([0-9]+)', 2), SPLIT_INDEX(channel, '-', 0), DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm'),
       MOD(auction * 7, 4), ROUND(CAST(price AS DOUBLE) / 3, 2), CONCAT(TRIM('  x '), '|', REPLACE(channel, 'o', '0')),
       channel LIKE '%oo%', LOWER(channel) || '!'
FROM bid WHERE price IS NOT NULL;
