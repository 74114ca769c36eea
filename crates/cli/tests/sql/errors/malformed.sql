CREATE TABLE m (k BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'filesystem', 'path' = '${DIR}/../basics/malformed.csv', 'format' = 'csv');
CREATE TABLE o (k BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO o SELECT k FROM m;
