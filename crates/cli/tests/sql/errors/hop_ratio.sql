CREATE TABLE ev (k VARCHAR, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/divisions.csv', 'format' = 'csv');
SELECT k, COUNT(*) FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '0.001' SECOND, INTERVAL '1' DAY))
GROUP BY k, window_start, window_end;
