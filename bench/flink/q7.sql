CREATE TEMPORARY TABLE sink (auction BIGINT, price BIGINT, bidder BIGINT, date_time TIMESTAMP_LTZ(3)) WITH ('connector' = 'blackhole');
INSERT INTO sink
SELECT B.auction, B.price, B.bidder, B.date_time
FROM bid B
JOIN (SELECT MAX(price) AS maxprice, window_end AS date_time
      FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
      GROUP BY window_start, window_end) B1
ON B.price = B1.maxprice
WHERE B.date_time BETWEEN B1.date_time - INTERVAL '10' SECOND AND B1.date_time;
