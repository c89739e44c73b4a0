-- Attachments belong to their statements' readers (store::attachment_access):
-- the statements whose readers get an attachment's content, and the
-- credentials that sent it.
CREATE TABLE attachment_grants (
    statement_id TEXT NOT NULL,
    sha2 TEXT NOT NULL,
    PRIMARY KEY (statement_id, sha2)
) WITHOUT ROWID;
CREATE TABLE attachment_senders (
    sha2 TEXT NOT NULL,
    authority_key TEXT NOT NULL,
    PRIMARY KEY (sha2, authority_key)
) WITHOUT ROWID;

-- Earlier releases did not record which request carried the content. The
-- first statement (in log order) declaring a stored hash is taken as the
-- one that carried it, its credential as the sender; then every statement
-- of that credential declaring the hash is granted it. A statement of
-- another credential that only declared the hash gets nothing.
INSERT OR IGNORE INTO attachment_senders (sha2, authority_key)
SELECT first.sha2, substr(t.term, 3)
FROM (
    SELECT lower(json_extract(j.value, '$.sha2')) AS sha2, MIN(s.seq) AS seq
    FROM statements s, json_each(s.json, '$.attachments') j
    WHERE json_valid(s.json)
    GROUP BY 1
) first
JOIN attachments a ON a.sha2 = first.sha2
JOIN terms t ON t.seq = first.seq AND t.term >= 'u|' AND t.term < 'u}';

INSERT OR IGNORE INTO attachment_grants (statement_id, sha2)
SELECT s.id, lower(json_extract(j.value, '$.sha2'))
FROM statements s, json_each(s.json, '$.attachments') j
JOIN terms t ON t.seq = s.seq AND t.term >= 'u|' AND t.term < 'u}'
JOIN attachment_senders g
  ON g.sha2 = lower(json_extract(j.value, '$.sha2')) AND g.authority_key = substr(t.term, 3)
WHERE json_valid(s.json);
