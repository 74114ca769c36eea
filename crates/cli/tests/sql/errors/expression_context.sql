-- A runtime error names the expression the script wrote (its text, line and column), in both
-- executors: the innermost written expression around the failure.
CREATE TABLE d (id INT, v INT, z INT, ts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = '${DIR}/divisions.csv', 'format' = 'csv');
CREATE TABLE out (id INT, q INT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/out.csv', 'format' = 'csv');
INSERT INTO out
SELECT id, CASE WHEN id > 0 THEN v / (z - 0) ELSE 0 END FROM d;
