-- Yahoo Streaming Benchmark: views per campaign per 10-second event-time window.
-- Run: darwin run examples/ysb.sql
CREATE TABLE events (
  user_id BIGINT, page_id BIGINT, ad_id BIGINT, ad_type VARCHAR, event_type VARCHAR,
  event_time TIMESTAMP(3), ip_address VARCHAR,
  WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND
) WITH ('connector' = 'ysb', 'table' = 'events', 'events' = '1000000', 'rate' = '20000');

CREATE TABLE campaigns (ad_id BIGINT, campaign_id BIGINT)
WITH ('connector' = 'ysb', 'table' = 'campaigns');

CREATE VIEW views AS
SELECT e.ad_id, c.campaign_id, e.event_time
FROM events e JOIN campaigns c ON e.ad_id = c.ad_id
WHERE e.event_type = 'view';

CREATE TABLE campaign_counts (window_start TIMESTAMP(3), campaign_id BIGINT, views BIGINT)
WITH ('connector' = 'print');

INSERT INTO campaign_counts
SELECT window_start, campaign_id, COUNT(*) AS views
FROM TABLE(TUMBLE(TABLE views, DESCRIPTOR(event_time), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, campaign_id;
