// A real xAPI client library against a running Trellis: statements (send,
// query, page, void) and the State, Agent Profile, Activity Profile,
// Activities and Agents resources, for
// both xAPI versions. Needs TRELLIS_URL, TRELLIS_KEY and TRELLIS_SECRET.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import XAPI from "@xapi/xapi";

const origin = process.env.TRELLIS_URL;
const auth = XAPI.toBasicAuth(process.env.TRELLIS_KEY, process.env.TRELLIS_SECRET);

for (const version of ["1.0.3", "2.0.0"]) {
  const xapi = new XAPI({ endpoint: `${origin}/xapi/`, auth, version });
  const learner = { objectType: "Agent", name: "Ana", mbox: `mailto:${randomUUID()}@client.example.com` };
  const lesson = `https://school.example.com/course/${randomUUID()}/lesson/1`;

  test(`xAPI.js ${version}: statements are sent, fetched, queried, paged and voided`, async () => {
    const ids = [];
    for (const verb of ["experienced", "completed", "passed"]) {
      const sent = await xapi.sendStatement({
        statement: {
          actor: learner,
          verb: { id: `http://adlnet.gov/expapi/verbs/${verb}`, display: { "en-US": verb } },
          object: { objectType: "Activity", id: lesson, definition: { name: { "en-US": "Lesson 1" } } },
        },
      });
      ids.push(sent.data[0]);
    }
    const fetched = await xapi.getStatement({ statementId: ids[1] });
    assert.equal(fetched.data.verb.id, "http://adlnet.gov/expapi/verbs/completed");
    assert.deepEqual(fetched.data.actor, learner);

    const page = await xapi.getStatements({ agent: learner, limit: 2 });
    assert.deepEqual(page.data.statements.map((s) => s.id), [ids[2], ids[1]]);
    assert.ok(page.data.more, "a second page is linked");
    const rest = await xapi.getMoreStatements({ more: page.data.more });
    assert.deepEqual(rest.data.statements.map((s) => s.id), [ids[0]]);

    await xapi.voidStatement({ actor: learner, statementId: ids[0] });
    const voided = await xapi.getVoidedStatement({ voidedStatementId: ids[0] });
    assert.equal(voided.data.id, ids[0]);
    await assert.rejects(xapi.getStatement({ statementId: ids[0] }), (e) => e.response?.status === 404);
  });

  test(`xAPI.js ${version}: state documents, activities and agents`, async () => {
    const stateId = `bookmark-${randomUUID()}`;
    await xapi.setState({ agent: learner, activityId: lesson, stateId, state: { page: 7 } });
    const state = await xapi.getState({ agent: learner, activityId: lesson, stateId });
    assert.deepEqual(state.data, { page: 7 });
    const ids = await xapi.getStates({ agent: learner, activityId: lesson });
    assert.ok(ids.data.includes(stateId));

    await xapi.sendStatement({
      statement: { actor: learner, verb: { id: "http://adlnet.gov/expapi/verbs/attempted" },
        object: { id: lesson, definition: { name: { "fr-FR": "Leçon 1" } } } },
    });
    const activity = await xapi.getActivity({ activityId: lesson });
    assert.equal(activity.data.id, lesson);
    assert.equal(activity.data.definition.name["fr-FR"], "Leçon 1");
    const person = await xapi.getAgent({ agent: learner });
    assert.deepEqual(person.data.mbox, [learner.mbox]);

    // xAPI.js saves profiles with a PUT and no precondition header: a new
    // document is created in both versions (1.0.3 Communication 3.1 asks
    // for 409 only when it exists).
    const profileId = `settings-${randomUUID()}`;
    await xapi.setAgentProfile({ agent: learner, profileId, profile: { locale: "pt-BR" } });
    const agentProfile = await xapi.getAgentProfile({ agent: learner, profileId });
    assert.deepEqual(agentProfile.data, { locale: "pt-BR" });
    await xapi.setActivityProfile({ activityId: lesson, profileId, profile: { theme: "dark" } });
    const activityProfile = await xapi.getActivityProfile({ activityId: lesson, profileId });
    assert.deepEqual(activityProfile.data, { theme: "dark" });

    const about = await xapi.getAbout();
    assert.ok(about.data.version.includes(version));
  });
}
