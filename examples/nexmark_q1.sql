-- Nexmark q1: bid prices converted to euros.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, date_time TIMESTAMP(3),
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
WITH ('connector' = 'nexmark', 'table' = 'bid', 'events' = '200000');
CREATE TABLE out_q1 (auction BIGINT, bidder BIGINT, price DECIMAL(23, 3), date_time TIMESTAMP(3)) WITH ('connector' = 'blackhole');
INSERT INTO out_q1 SELECT auction, bidder, 0.908 * price AS price, date_time FROM bid;
