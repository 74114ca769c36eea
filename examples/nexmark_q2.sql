-- Nexmark q2: bids on a chosen set of auctions.
CREATE TABLE bid (auction BIGINT, price BIGINT, date_time TIMESTAMP(3),
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
WITH ('connector' = 'nexmark', 'table' = 'bid', 'events' = '200000');
SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
