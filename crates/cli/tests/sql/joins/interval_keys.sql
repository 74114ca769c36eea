-- Interval joins keyed by a string and by (string, integer): keys that buffer several rows,
-- NULL keys (never match), rows outside the interval. Each buy matches the views of the same
-- key in the 5 s before it.
CREATE TABLE views (u VARCHAR, c INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/views.csv', 'format' = 'csv');
CREATE TABLE buys (u VARCHAR, c INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/buys.csv', 'format' = 'csv');
CREATE TABLE by_user (u VARCHAR, vts TIMESTAMP(3), bts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = '${OUT}/by_user.csv', 'format' = 'csv');
CREATE TABLE by_user_item (u VARCHAR, c INT, vts TIMESTAMP(3), bts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = '${OUT}/by_user_item.csv', 'format' = 'csv');
INSERT INTO by_user SELECT v.u, v.ts, b.ts FROM views v JOIN buys b ON v.u = b.u
WHERE v.ts BETWEEN b.ts - INTERVAL '5' SECOND AND b.ts;
INSERT INTO by_user_item SELECT v.u, v.c, v.ts, b.ts FROM views v JOIN buys b ON v.u = b.u AND v.c = b.c
WHERE v.ts BETWEEN b.ts - INTERVAL '5' SECOND AND b.ts;
