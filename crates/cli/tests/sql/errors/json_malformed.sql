CREATE TABLE j (id BIGINT, name VARCHAR, score DOUBLE, ts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = '${DIR}/../basics/events.json', 'format' = 'json');
CREATE TABLE o (id BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO o SELECT id FROM j;
