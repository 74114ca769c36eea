-- TRY_CAST gives NULL where CAST fails (out of range, not a number) and the value elsewhere.
CREATE TABLE n (k INT, b BIGINT, i INT, ts TIMESTAMP(3), s VARCHAR)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/big.csv', 'format' = 'csv');
CREATE TABLE out (k INT, d DECIMAL(3, 1), e DECIMAL(5, 2), f INT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/out.csv', 'format' = 'csv');
INSERT INTO out SELECT k, TRY_CAST(i AS DECIMAL(3, 1)), TRY_CAST(s AS DECIMAL(5, 2)), TRY_CAST(b AS INT) FROM n;
