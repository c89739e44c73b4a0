-- Migration 3: the query terms leave the statement log for the index
-- database (`trellis-index.db`, kept by the background indexer).
--
-- The indexer derives each statement's keys from its stored text, except
-- the key of the credential that sent it, which the text does not hold: it
-- moves from the `u|` terms to the new column `cred`. The index database
-- of an upgraded store starts empty and the indexer rebuilds it from the
-- log; until it has caught up, queries answer from what it covers and
-- `X-Experience-API-Consistent-Through` says how far that is.
ALTER TABLE statements ADD COLUMN cred TEXT;
UPDATE statements SET cred = t.cred
  FROM (SELECT seq, substr(term, 3) AS cred FROM terms WHERE term >= 'u|' AND term < 'u}') AS t
  WHERE statements.seq = t.seq;
DROP TABLE terms;
