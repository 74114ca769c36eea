-- A division by zero in an aggregate's argument, on a row that reaches its window, fails the
-- query with the interpreter's message in both executors (compiled kernels defer such errors
-- only to match which batches the interpreter evaluates).
CREATE TABLE d (id INT, v INT, z INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/divisions.csv', 'format' = 'csv');
CREATE TABLE out (ws TIMESTAMP(3), q INT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/out.csv', 'format' = 'csv');
INSERT INTO out SELECT window_start, SUM(v / z) FROM TABLE(TUMBLE(TABLE d, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
