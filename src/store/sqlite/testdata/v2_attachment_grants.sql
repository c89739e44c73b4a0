-- A database at schema version 2 (attachment grants and senders; the query
-- terms still in the log's `terms` table): the rows of v1_initial.sql and
-- the grant and sender of the legacy attachment.
INSERT INTO statements (seq, id, stored, voided, voids, json) VALUES
 (1, '6f0f2a5c-1d3e-4b8a-9c7d-5e4f3a2b1c0d', 1700000000000, 1, NULL,
  '{"id":"6f0f2a5c-1d3e-4b8a-9c7d-5e4f3a2b1c0d","actor":{"mbox":"mailto:legacy@example.com"},"verb":{"id":"http://x.io/legacy"},"object":{"id":"http://x.io/legacy-activity","definition":{"name":{"en-US":"Legacy"}}},"attachments":[{"usageType":"http://x.io/note","display":{"en-US":"note"},"contentType":"text/plain","length":5,"sha2":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}],"timestamp":"2023-11-14T22:13:20.000Z","stored":"2023-11-14T22:13:20.000Z","authority":{"objectType":"Agent","account":{"homePage":"http://127.0.0.1:8080","name":"legacy-key"}},"version":"1.0.0"}'),
 (2, '0b7e8f6a-4c2d-4e1f-8a9b-3c5d7e9f1a2b', 1700000000001, 0, '6f0f2a5c-1d3e-4b8a-9c7d-5e4f3a2b1c0d',
  '{"id":"0b7e8f6a-4c2d-4e1f-8a9b-3c5d7e9f1a2b","actor":{"mbox":"mailto:legacy@example.com"},"verb":{"id":"http://adlnet.gov/expapi/verbs/voided"},"object":{"objectType":"StatementRef","id":"6f0f2a5c-1d3e-4b8a-9c7d-5e4f3a2b1c0d"},"timestamp":"2023-11-14T22:13:20.001Z","stored":"2023-11-14T22:13:20.001Z","authority":{"objectType":"Agent","account":{"homePage":"http://127.0.0.1:8080","name":"legacy-key"}},"version":"1.0.0"}');
INSERT INTO terms (term, seq) VALUES
 ('a|mbox:mailto:legacy@example.com', 1), ('v|http://x.io/legacy', 1),
 ('o|http://x.io/legacy-activity', 1), ('u|legacy-key', 1),
 ('a|mbox:mailto:legacy@example.com', 2), ('v|http://adlnet.gov/expapi/verbs/voided', 2),
 ('u|legacy-key', 2), ('v|http://x.io/legacy', 2), ('o|http://x.io/legacy-activity', 2);
INSERT INTO attachments (sha2, content_type, data) VALUES
 ('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', 'text/plain', X'68656C6C6F');
INSERT INTO credentials (key, name, scopes, secret_hash, created) VALUES
 ('legacy-key', 'admin', 'all statements/read', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', '2023-11-14T22:00:00.000Z');
INSERT INTO activities (id, definition) VALUES
 ('http://x.io/legacy-activity', '{"name":{"en-US":"Legacy"}}');
INSERT INTO documents (kind, activity, agent, registration, doc_id, content_type, content, etag, updated) VALUES
 (1, 'http://x.io/legacy-activity', 'mbox:mailto:legacy@example.com', '', 'bookmark', 'text/plain', X'7061676520370A', 'b37ad6b5d1bbb5a4b9d5e3c3c8b3c4b7f2c1a0e9', 1700000000002);
INSERT INTO checkpoints (consumer, seq) VALUES ('cx', 2);
INSERT INTO aggregate_records (consumer, key, value) VALUES
 ('cx', '6f0f2a5c-1d3e-4b8a-9c7d-5e4f3a2b1c0d', X'7B7D');
INSERT INTO attachment_senders (sha2, authority_key) VALUES
 ('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', 'legacy-key');
INSERT INTO attachment_grants (statement_id, sha2) VALUES
 ('6f0f2a5c-1d3e-4b8a-9c7d-5e4f3a2b1c0d', '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
