CREATE TABLE t (name VARCHAR, n BIGINT) WITH ('connector' = 'filesystem', 'path' = '${DIR}/x.csv', 'format' = 'csv');
SELECT name FROM t WHERE name > n + 1;
