-- BIGINT arithmetic never wraps: the sum of a large positive value and 8 is an error naming
-- both operands, not a negative number (Flink wraps around here).
CREATE TABLE n (k INT, b BIGINT, i INT, ts TIMESTAMP(3), s VARCHAR)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/big.csv', 'format' = 'csv');
CREATE TABLE out (k INT, v BIGINT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/out.csv', 'format' = 'csv');
INSERT INTO out SELECT k, b + 8 FROM n;
