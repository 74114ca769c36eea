CREATE TEMPORARY TABLE sink (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, date_time TIMESTAMP_LTZ(3), extra STRING) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT auction, bidder, price, channel, url, date_time, extra FROM bid;
