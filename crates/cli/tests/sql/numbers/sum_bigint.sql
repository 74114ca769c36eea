-- A SUM of BIGINT whose value leaves BIGINT is an error, not a wrapped sum.
CREATE TABLE n (k INT, b BIGINT, i INT, ts TIMESTAMP(3), s VARCHAR)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/big.csv', 'format' = 'csv');
CREATE TABLE out (t BIGINT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/out.csv', 'format' = 'csv');
INSERT INTO out SELECT SUM(b) FROM n WHERE k <> 3 GROUP BY k / 10;
