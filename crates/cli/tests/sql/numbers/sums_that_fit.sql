-- Sums whose running value leaves INT (but not BIGINT) and whose result fits INT are right,
-- in a window (a generated update loop in compiled mode) and without one.
CREATE TABLE n (k INT, b BIGINT, i INT, ts TIMESTAMP(3), s VARCHAR, WATERMARK FOR ts AS ts)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/big.csv', 'format' = 'csv');
CREATE TABLE w (t INT, u BIGINT, a INT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/w.csv', 'format' = 'csv');
CREATE TABLE g (t INT, u BIGINT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/g.csv', 'format' = 'csv');
INSERT INTO w SELECT SUM(i), SUM(b), AVG(i) FROM TABLE(TUMBLE(TABLE n, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
INSERT INTO g SELECT SUM(i), SUM(b) FROM n GROUP BY k / 10;
