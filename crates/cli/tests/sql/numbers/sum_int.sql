-- SUM of INT is an INT, as in Flink; it is summed as a BIGINT, and a result beyond INT is an
-- error (Flink wraps around). In a window, in both executors.
CREATE TABLE n (k INT, b BIGINT, i INT, ts TIMESTAMP(3), s VARCHAR, WATERMARK FOR ts AS ts)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/big.csv', 'format' = 'csv');
CREATE TABLE out (t INT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/out.csv', 'format' = 'csv');
INSERT INTO out SELECT SUM(i) FROM TABLE(TUMBLE(TABLE n, DESCRIPTOR(ts), INTERVAL '10' SECOND))
WHERE k <> 3 GROUP BY window_start, window_end;
