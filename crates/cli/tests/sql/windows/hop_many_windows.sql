-- A HOP whose rows each fall in 150,000 windows (1 ms slide, 150 s size): above the default
-- limit of 100,000, raised by SET. The windows' rows go out in parts (never all held at once)
-- and a second aggregate adds them up: 3 keys in 150,000 windows each, and the table function's
-- copies of 3 rows likewise.
SET 'darwin.hop.max-windows-per-row' = '150000';
CREATE TABLE ev (k VARCHAR, v INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/three.csv', 'format' = 'csv');
CREATE TABLE per_window (windows BIGINT, total BIGINT, first_start TIMESTAMP(3), last_end TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = '${OUT}/per_window.csv', 'format' = 'csv');
CREATE TABLE copies (n BIGINT, total BIGINT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/copies.csv', 'format' = 'csv');
INSERT INTO per_window SELECT COUNT(*), SUM(n), MIN(ws), MAX(we) FROM (
  SELECT k, COUNT(*) AS n, window_start AS ws, window_end AS we
  FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '0.001' SECOND, INTERVAL '150' SECOND))
  GROUP BY k, window_start, window_end);
INSERT INTO copies SELECT COUNT(*), SUM(v) FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '0.001' SECOND, INTERVAL '150' SECOND));
