-- An empty source: windows never open, the run ends, nothing is written.
CREATE TABLE e (k BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/empty.csv', 'format' = 'csv');
CREATE TABLE out3 (k BIGINT, c BIGINT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/out3.csv', 'format' = 'csv');
INSERT INTO out3 SELECT k, COUNT(*) FROM TABLE(TUMBLE(TABLE e, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end;
