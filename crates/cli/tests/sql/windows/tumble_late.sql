-- Tumbling windows, one record per batch so the watermark advances record by record. The
-- watermark is max(ts) - 1 s: after a@12 it is 00:11 and window [00:00, 00:10) has fired, so
-- b@00:02 (after a@12) and a@00:09 (after b@33) are late: dropped and counted.
-- [00:20, 00:30) is empty and emits nothing. Two sinks read the same source.
-- One worker: with several, when a watermark passes depends on thread timing, so which records
-- are late would too (as in any parallel engine).
SET 'batch-size' = '1';
SET 'parallelism' = '1';
CREATE TABLE ev (k VARCHAR, v INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/events.csv', 'format' = 'csv');
CREATE TABLE counts (ws TIMESTAMP(3), we TIMESTAMP(3), k VARCHAR, n BIGINT, total INT)
WITH ('connector' = 'filesystem', 'path' = '${OUT}/counts.csv', 'format' = 'csv');
CREATE TABLE grouped (k VARCHAR, ws TIMESTAMP(3), n BIGINT)
WITH ('connector' = 'filesystem', 'path' = '${OUT}/grouped.csv', 'format' = 'csv');
INSERT INTO counts
SELECT window_start, window_end, k, COUNT(*), SUM(v)
FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, k;
INSERT INTO grouped
SELECT k, TUMBLE_START(ts, INTERVAL '10' SECOND), COUNT(*) FROM ev GROUP BY TUMBLE(ts, INTERVAL '10' SECOND), k;
