-- JSON lines: missing and null fields are NULL, keys match case-insensitively, timestamps are
-- strings or epoch milliseconds; with json.ignore-parse-errors bad lines are skipped and counted.
CREATE TABLE j (id BIGINT, name VARCHAR, score DOUBLE, ts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = '${DIR}/events.json', 'format' = 'json', 'json.ignore-parse-errors' = 'true');
CREATE TABLE out6 (id BIGINT, name VARCHAR, score DOUBLE, ts TIMESTAMP(3)) WITH ('connector' = 'filesystem', 'path' = '${OUT}/out6.csv', 'format' = 'csv');
INSERT INTO out6 SELECT * FROM j;
