CREATE TABLE bid (auction BIGINT, price BIGINT, date_time TIMESTAMP(3), WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND) WITH ('connector' = 'nexmark', 'table' = 'bid', 'events' = '1000');
CREATE TABLE auction (id BIGINT, date_time TIMESTAMP(3), expires TIMESTAMP(3), WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND) WITH ('connector' = 'nexmark', 'table' = 'auction', 'events' = '1000');
SELECT * FROM bid B JOIN auction A ON B.auction = A.id AND B.date_time BETWEEN A.date_time AND A.expires;
