-- HOP (slide 5 s, size 10 s) and SESSION (gap 5 s) over in-order input (one batch: nothing late).
CREATE TABLE ev (k VARCHAR, v INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '30' SECOND)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/events.csv', 'format' = 'csv');
CREATE TABLE hops (ws TIMESTAMP(3), n BIGINT, mx INT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/hops.csv', 'format' = 'csv');
CREATE TABLE sess (k VARCHAR, ss TIMESTAMP(3), se TIMESTAMP(3), n BIGINT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/sess.csv', 'format' = 'csv');
CREATE TABLE sess2 (k VARCHAR, ss TIMESTAMP(3), n BIGINT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/sess2.csv', 'format' = 'csv');
INSERT INTO hops SELECT window_start, COUNT(*), MAX(v) FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) GROUP BY window_start, window_end;
INSERT INTO sess SELECT k, SESSION_START(ts, INTERVAL '5' SECOND), SESSION_END(ts, INTERVAL '5' SECOND), COUNT(*) FROM ev GROUP BY k, SESSION(ts, INTERVAL '5' SECOND);
INSERT INTO sess2 SELECT k, window_start, COUNT(*) FROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '5' SECOND)) GROUP BY k, window_start, window_end;
