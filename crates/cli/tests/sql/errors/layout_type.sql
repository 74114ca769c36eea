CREATE TABLE events (ad_id BIGINT, event_type VARCHAR, event_time TIMESTAMP(3))
WITH ('connector' = 'ysb', 'table' = 'events', 'layout' = '64');
SELECT ad_id FROM events WHERE event_type = 'view';
