// TinCanJS (tincanjs), the xAPI client many LMSs and authoring tools embed,
// against a running Trellis: statements (save, fetch, query, page, void),
// State, Activity Profile and Agent Profile documents, for both xAPI
// versions. TinCanJS knows versions up to 1.0.2: it builds its requests
// as 1.0.2 and the test sends them with the version under test (the header
// is the one thing that differs on the wire). Needs TRELLIS_URL,
// TRELLIS_KEY and TRELLIS_SECRET.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import TinCan from "tincanjs";

const origin = process.env.TRELLIS_URL;
const key = process.env.TRELLIS_KEY;
const secret = process.env.TRELLIS_SECRET;

// TinCanJS calls back `(err, result)`; `err` is null or the HTTP status.
const call = (fn) =>
  new Promise((resolve, reject) =>
    fn((err, result) => (err ? reject(new Error(`TinCanJS error: ${err}`)) : resolve(result))),
  );

for (const version of ["1.0.3", "2.0.0"]) {
  const lrs = new TinCan.LRS({
    endpoint: `${origin}/xapi/`, username: key, password: secret, allowFail: false, version: "1.0.2",
  });
  const send = lrs.sendRequest.bind(lrs);
  lrs.sendRequest = (cfg) => send({ ...cfg, headers: { ...cfg.headers, "X-Experience-API-Version": version } });
  const learner = new TinCan.Agent({ name: "Ana", mbox: `mailto:${randomUUID()}@tincan.example.com` });
  const lessonId = `https://school.example.com/course/${randomUUID()}/lesson/1`;
  const lesson = new TinCan.Activity({ id: lessonId, definition: { name: { "en-US": "Lesson 1" } } });

  test(`TinCanJS ${version}: statements are saved, fetched, queried, paged and voided`, async () => {
    const ids = [];
    for (const verb of ["experienced", "completed", "passed"]) {
      const statement = new TinCan.Statement({
        id: randomUUID(),
        actor: learner,
        verb: { id: `http://adlnet.gov/expapi/verbs/${verb}`, display: { "en-US": verb } },
        target: lesson,
      });
      await call((callback) => lrs.saveStatement(statement, { callback }));
      ids.push(statement.id);
    }
    const fetched = await call((callback) => lrs.retrieveStatement(ids[1], { callback }));
    assert.equal(fetched.verb.id, "http://adlnet.gov/expapi/verbs/completed");
    assert.equal(fetched.actor.mbox, learner.mbox);

    const page = await call((callback) =>
      lrs.queryStatements({ params: { agent: learner, limit: 2 }, callback }),
    );
    assert.deepEqual(page.statements.map((s) => s.id), [ids[2], ids[1]]);
    assert.ok(page.more, "a second page is linked");
    const rest = await call((callback) => lrs.moreStatements({ url: page.more, callback }));
    assert.deepEqual(rest.statements.map((s) => s.id), [ids[0]]);

    const voiding = new TinCan.Statement({
      actor: learner,
      verb: { id: "http://adlnet.gov/expapi/verbs/voided", display: { "en-US": "voided" } },
      target: new TinCan.StatementRef({ id: ids[0] }),
    });
    await call((callback) => lrs.saveStatement(voiding, { callback }));
    const voided = await call((callback) => lrs.retrieveVoidedStatement(ids[0], { callback }));
    assert.equal(voided.id, ids[0]);
  });

  test(`TinCanJS ${version}: state, activity profile and agent profile documents`, async () => {
    const stateId = `bookmark-${randomUUID()}`;
    await call((callback) =>
      lrs.saveState(stateId, { page: 7 }, { agent: learner, activity: lesson, contentType: "application/json", callback }),
    );
    const state = await call((callback) => lrs.retrieveState(stateId, { agent: learner, activity: lesson, callback }));
    assert.deepEqual(state.contents, { page: 7 });

    const profileId = `settings-${randomUUID()}`;
    await call((callback) =>
      lrs.saveActivityProfile(profileId, { theme: "dark" }, { activity: lesson, contentType: "application/json", callback }),
    );
    const activityProfile = await call((callback) =>
      lrs.retrieveActivityProfile(profileId, { activity: lesson, callback }),
    );
    assert.deepEqual(activityProfile.contents, { theme: "dark" });
    // Replacing it with the ETag it was read with (TinCanJS sends If-Match).
    await call((callback) =>
      lrs.saveActivityProfile(profileId, { theme: "light" }, {
        activity: lesson, contentType: "application/json", lastSHA1: activityProfile.etag, callback,
      }),
    );
    const replaced = await call((callback) => lrs.retrieveActivityProfile(profileId, { activity: lesson, callback }));
    assert.deepEqual(replaced.contents, { theme: "light" });

    await call((callback) =>
      lrs.saveAgentProfile(profileId, { locale: "pt-BR" }, { agent: learner, contentType: "application/json", callback }),
    );
    const agentProfile = await call((callback) => lrs.retrieveAgentProfile(profileId, { agent: learner, callback }));
    assert.deepEqual(agentProfile.contents, { locale: "pt-BR" });
  });

  // What a client sends when it does not use If-None-Match (xAPI.js does
  // this): 1.0.3 Communication 3.1 asks for 409 only when the document exists.
  test(`${version}: a profile PUT without precondition creates a new document and conflicts with an existing one`, async () => {
    const headers = {
      Authorization: `Basic ${Buffer.from(`${key}:${secret}`).toString("base64")}`,
      "X-Experience-API-Version": version,
      "Content-Type": "application/json",
    };
    const agent = encodeURIComponent(JSON.stringify({ mbox: learner.mbox }));
    for (const path of [
      `agents/profile?agent=${agent}&profileId=new-${randomUUID()}`,
      `activities/profile?activityId=${encodeURIComponent(lessonId)}&profileId=new-${randomUUID()}`,
    ]) {
      const url = `${origin}/xapi/${path}`;
      const created = await fetch(url, { method: "PUT", headers, body: '{"a":1}' });
      assert.ok([201, 204].includes(created.status), `${path}: ${created.status} ${await created.text()}`);
      const again = await fetch(url, { method: "PUT", headers, body: '{"a":2}' });
      assert.equal(again.status, 409, `${path}: ${await again.text()}`);
      const read = await fetch(url, { headers });
      assert.deepEqual(await read.json(), { a: 1 });
    }
  });
}
