-- Window join (same 10 s window and key) and interval join (auction within 5 s after sign-up).
CREATE TABLE person (id BIGINT, name VARCHAR, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/people.csv', 'format' = 'csv');
CREATE TABLE auction (seller BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/auctions.csv', 'format' = 'csv');
CREATE TABLE same_window (id BIGINT, name VARCHAR, ws TIMESTAMP(3), n BIGINT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/same_window.csv', 'format' = 'csv');
CREATE TABLE soon_after (id BIGINT, pts TIMESTAMP(3), ats TIMESTAMP(3)) WITH ('connector' = 'filesystem', 'path' = '${OUT}/soon_after.csv', 'format' = 'csv');
INSERT INTO same_window
SELECT P.id, P.name, P.ws, A.n
FROM (SELECT id, name, window_start AS ws, window_end AS we FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY id, name, window_start, window_end) P
JOIN (SELECT seller, COUNT(*) AS n, window_start AS ws, window_end AS we FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY seller, window_start, window_end) A
ON P.id = A.seller AND P.ws = A.ws AND P.we = A.we;
INSERT INTO soon_after
SELECT p.id, p.ts, a.ts FROM auction a JOIN person p ON a.seller = p.id
WHERE a.ts BETWEEN p.ts AND p.ts + INTERVAL '5' SECOND;
