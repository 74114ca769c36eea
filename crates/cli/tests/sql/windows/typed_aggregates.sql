-- Window aggregates of every kind compiled mode generates typed loops for (integer key, no key;
-- COUNT, COUNT(x), SUM/MIN/MAX/AVG of doubles and integers, FILTER), over NULL keys and values,
-- -0.0 and a huge double, a late row (id 8 at 00:05 arrives after the watermark passed 00:10)
-- whose argument divides by zero: its error must not count, as the interpreter evaluates
-- arguments only for batches that reach a window. One record per batch, one worker, so which
-- rows are late is deterministic.
SET 'batch-size' = '1';
SET 'parallelism' = '1';
CREATE TABLE m (id INT, k BIGINT, d DOUBLE, v INT, z INT, s VARCHAR, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/measures.csv', 'format' = 'csv');
CREATE TABLE by_key (ws TIMESTAMP(3), k BIGINT, n BIGINT, ns BIGINT, sd DOUBLE, mind DOUBLE, maxd DOUBLE,
  avgd DOUBLE, avgv INT, q BIGINT, maxts TIMESTAMP(3), pos BIGINT, minx INT)
WITH ('connector' = 'filesystem', 'path' = '${OUT}/by_key.csv', 'format' = 'csv');
CREATE TABLE by_id (ws TIMESTAMP(3), we TIMESTAMP(3), id INT, avgd DOUBLE, maxv INT, n BIGINT)
WITH ('connector' = 'filesystem', 'path' = '${OUT}/by_id.csv', 'format' = 'csv');
CREATE TABLE whole (ws TIMESTAMP(3), sd DOUBLE, n BIGINT, mn BIGINT)
WITH ('connector' = 'filesystem', 'path' = '${OUT}/whole.csv', 'format' = 'csv');
INSERT INTO by_key
SELECT window_start, k, COUNT(*), COUNT(s), SUM(d), MIN(d), MAX(d), AVG(d), AVG(v), SUM(v / z), MAX(ts),
  COUNT(*) FILTER (WHERE d > 0), MIN(v) FILTER (WHERE s LIKE 'x%')
FROM TABLE(TUMBLE(TABLE m, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, k;
INSERT INTO by_id
SELECT window_start, window_end, id, AVG(d), MAX(v), COUNT(d)
FROM TABLE(HOP(TABLE m, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
GROUP BY window_start, window_end, id;
INSERT INTO whole
SELECT window_start, SUM(d), COUNT(*), MIN(k + id)
FROM TABLE(TUMBLE(TABLE m, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
