-- Long IN lists (16 values or more) are one hashed lookup: equal results to short ones,
-- including NULL semantics (a NULL in the list or a NULL probe makes a miss NULL, not FALSE),
-- for integers, strings and doubles compared with integers.
CREATE TABLE bid (auction BIGINT, bidder INT, price BIGINT, ts TIMESTAMP(3), channel VARCHAR)
WITH ('connector' = 'filesystem', 'path' = '${DIR}/bids.csv', 'format' = 'csv');
CREATE TABLE out (auction BIGINT, price BIGINT, p_in BOOLEAN, p_not_in BOOLEAN, p_null_list BOOLEAN, c_in BOOLEAN, d_in BOOLEAN)
WITH ('connector' = 'filesystem', 'path' = '${OUT}/out.csv', 'format' = 'csv');
INSERT INTO out SELECT auction, price,
  price IN (200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215,216,217,218,219,220,221,222,223,224,225,226,227,228,229,230,231,232,233,234,235,236,237,238,239,100,999),
  price NOT IN (200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215,216,217,218,219,220,221,222,223,224,225,226,227,228,229,230,231,232,233,234,235,236,237,238,239,100,999),
  price IN (300,301,302,303,304,305,306,307,308,309,310,311,312,313,314,315,316,317,318,319,320,321,322,323,324,325,326,327,328,329,NULL),
  channel IN ('c0','c1','c2','c3','c4','c5','c6','c7','c8','c9','c10','c11','c12','c13','c14','c15','c16','c17','c18','c19','c20','c21','c22','c23','c24','c25','c26','c27','c28','c29','Google','Face,book'),
  CAST(price AS DOUBLE) IN (0.5,1.5,2.5,3.5,4.5,5.5,6.5,7.5,8.5,9.5,10.5,11.5,12.5,13.5,14.5,15.5,16.5,17.5,18.5,19.5,20.5,21.5,22.5,23.5,24.5,25.5,26.5,27.5,28.5,29.5,100.0)
FROM bid;
