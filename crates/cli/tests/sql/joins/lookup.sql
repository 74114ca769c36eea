-- Lookup join of a stream with a CSV table, then a window over the result; LEFT JOIN pads NULLs.
CREATE TABLE clicks (ad BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/clicks.csv', 'format' = 'csv');
CREATE TABLE ads (ad BIGINT, campaign BIGINT) WITH ('connector' = 'filesystem', 'path' = '${DIR}/ads.csv', 'format' = 'csv');
CREATE VIEW enriched AS SELECT c.ad, a.campaign, c.ts FROM clicks c JOIN ads a ON c.ad = a.ad;
CREATE TABLE per_campaign (ws TIMESTAMP(3), campaign BIGINT, n BIGINT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/per_campaign.csv', 'format' = 'csv');
CREATE TABLE all_clicks (ad BIGINT, campaign BIGINT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/all_clicks.csv', 'format' = 'csv');
INSERT INTO per_campaign SELECT window_start, campaign, COUNT(*) FROM TABLE(TUMBLE(TABLE enriched, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, campaign;
INSERT INTO all_clicks SELECT c.ad, a.campaign FROM clicks c LEFT JOIN ads a ON c.ad = a.ad;
