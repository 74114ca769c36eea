CREATE TEMPORARY TABLE sink (auction BIGINT, bidder BIGINT, price DECIMAL(23, 3), date_time TIMESTAMP_LTZ(3)) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT auction, bidder, 0.908 * price, date_time FROM bid;
