-- INT products that leave INT are errors, as are negations and ABS of the type's minimum.
CREATE TABLE n (k INT, b BIGINT, i INT, ts TIMESTAMP(3), s VARCHAR)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/big.csv', 'format' = 'csv');
CREATE TABLE out (k INT, v INT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/out.csv', 'format' = 'csv');
INSERT INTO out SELECT k, i * 2 FROM n WHERE k = 3;
