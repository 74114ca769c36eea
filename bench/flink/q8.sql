-- Nexmark q8 on Flink: people who opened an auction in the 10-second window they registered in.
-- Persons and auctions from datagen sequences as in the Nexmark mix (1 person and 3 auctions per
-- 50 events, 10,000 events per second of event time); sellers are recent persons.
CREATE TEMPORARY TABLE person (
  seq BIGINT,
  id AS 1000 + seq,
  name AS CONCAT('person-', CAST(seq AS STRING)),
  date_time AS TO_TIMESTAMP_LTZ(seq * 5, 3),
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND
) WITH (
  'connector' = 'datagen', 'number-of-rows' = '${PERSONS}', 'rows-per-second' = '10000000000',
  'fields.seq.kind' = 'sequence', 'fields.seq.start' = '0', 'fields.seq.end' = '${PERSONS}'
);
CREATE TEMPORARY TABLE auction (
  seq BIGINT,
  seller AS 1000 + seq / 3 - ABS(MOD(seq * 2654435761, 20)),
  date_time AS TO_TIMESTAMP_LTZ(seq * 5 / 3, 3),
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND
) WITH (
  'connector' = 'datagen', 'number-of-rows' = '${AUCTIONS}', 'rows-per-second' = '10000000000',
  'fields.seq.kind' = 'sequence', 'fields.seq.start' = '0', 'fields.seq.end' = '${AUCTIONS}'
);
CREATE TEMPORARY TABLE sink (id BIGINT, name STRING, starttime TIMESTAMP_LTZ(3)) WITH ('connector' = 'blackhole');
INSERT INTO sink
SELECT P.id, P.name, P.starttime
FROM (SELECT id, name, window_start AS starttime, window_end AS endtime
      FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
      GROUP BY id, name, window_start, window_end) P
JOIN (SELECT seller, window_start AS starttime, window_end AS endtime
      FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
      GROUP BY seller, window_start, window_end) A
ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;
