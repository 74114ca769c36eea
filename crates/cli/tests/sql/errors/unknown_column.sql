CREATE TABLE t (price BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'filesystem', 'path' = '${DIR}/x.csv', 'format' = 'csv');
SELECT pric
FROM t;
