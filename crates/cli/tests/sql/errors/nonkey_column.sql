CREATE TABLE t (k BIGINT, v BIGINT) WITH ('connector' = 'filesystem', 'path' = '/tmp/x', 'format' = 'csv');
SELECT k, v, COUNT(*) FROM t GROUP BY k;
