CREATE TABLE a (auction BIGINT, date_time TIMESTAMP(3), WATERMARK FOR date_time AS date_time) WITH ('connector' = 'nexmark', 'table' = 'bid', 'events' = '10');
SELECT * FROM a JOIN a AS b ON a.auction = b.auction;
