-- A runtime error on a row of a query that computes on a source's rows as they are read names
-- the file and the lines of the batch the row is in: with one row per batch, its line.
SET 'batch-size' = '1';
CREATE TABLE d (id INT, v INT, z INT, ts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = '${DIR}/divisions.csv', 'format' = 'csv');
CREATE TABLE out (id INT, q INT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/out.csv', 'format' = 'csv');
INSERT INTO out SELECT id, v / z FROM d WHERE id > 0;
