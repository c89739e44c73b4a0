// Initiates the single-member replica set rs0 once (idempotent). Trellis
// needs a replica set for MongoDB transactions and change streams.
try {
  rs.status();
  print("replica set rs0 already initiated");
} catch (e) {
  rs.initiate({ _id: "rs0", members: [{ _id: 0, host: "mongo:27017" }] });
  print("replica set rs0 initiated");
}
// Wait until this member is primary, so Trellis starts against a writable set.
for (let i = 0; i < 60 && !db.hello().isWritablePrimary; i++) {
  sleep(1000);
}
if (!db.hello().isWritablePrimary) {
  throw new Error("rs0 has no primary after 60 s");
}
