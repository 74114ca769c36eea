-- With ignore-parse-errors, malformed records are skipped (and counted), the rest processed.
-- The query reads both columns, so both bad fields are decoded (a column no query reads is not).
CREATE TABLE m (k BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'filesystem', 'path' = '${DIR}/malformed.csv', 'format' = 'csv', 'csv.ignore-parse-errors' = 'true');
CREATE TABLE out4 (k BIGINT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/out4.csv', 'format' = 'csv');
INSERT INTO out4 SELECT k FROM m WHERE ts IS NOT NULL;
