CREATE TABLE t (k BIGINT) WITH ('connector' = 'filesystem', 'path' = '/tmp/x', 'format' = 'csv', 'csv.heder' = 'true');
