-- A CAST to a DECIMAL that cannot hold the value is an error; TRY_CAST gives NULL instead, and
-- so it does for a string that is not a number.
CREATE TABLE n (k INT, b BIGINT, i INT, ts TIMESTAMP(3), s VARCHAR)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/big.csv', 'format' = 'csv');
CREATE TABLE out (k INT, d DECIMAL(3, 1), e DECIMAL(5, 2), f INT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/out.csv', 'format' = 'csv');
INSERT INTO out SELECT k, TRY_CAST(i AS DECIMAL(3, 1)), TRY_CAST(s AS DECIMAL(5, 2)), TRY_CAST(b AS INT) FROM n;
CREATE TABLE bad (d DECIMAL(3, 1)) WITH ('connector' = 'filesystem', 'path' = '${OUT}/bad.csv', 'format' = 'csv');
INSERT INTO bad SELECT CAST(i AS DECIMAL(3, 1)) FROM n;
