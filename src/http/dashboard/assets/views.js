// The views. Each has a title, optional controls (rendered once per
// navigation, so typing is never interrupted) and `load`, which fetches
// its data from the public APIs and answers the DOM to show; it runs again
// on every refresh. Numbers carry `data-metric` and `data-value` (the
// API's raw value) so the browser test can compare them with the API.

import { el, fmt, sparkline, lineChart, legend, barList, heatClass, intervalPlot } from "./charts.js";

const DAY = 86400000;
const VERB = {
  completed: "http://adlnet.gov/expapi/verbs/completed",
  registered: "http://adlnet.gov/expapi/verbs/registered",
  purchase: "http://activitystrea.ms/schema/1.0/purchase",
};

const short = (iri) => (iri || "").replace(/\/$/, "").split(/[/#:]/).pop();
const ms = (t) => Date.parse(t);

function metric(name, value, text) {
  return el("span", { class: "value", "data-metric": name, "data-value": value === null || value === undefined ? "null" : String(value) }, text);
}

function tile(label, name, value, text, extra) {
  return el("section", { class: "tile", "aria-label": label },
    el("h3", {}, label), metric(name, value, text), extra || null);
}

function empty(message) {
  return el("div", { class: "empty", "data-state": "empty", role: "status" }, message);
}

const settle = (p) => p.then((v) => ({ ok: true, v }), (e) => ({ ok: false, e }));

function failed(r) {
  return el("span", { class: "muted", "data-state": "error" }, r.e ? `${r.e.status || ""} ${r.e.message}` : "");
}

function needsCourse(ctx, what) {
  return empty(`${what} is measured per course: pick a course in the scope picker above${ctx.activities().length ? "" : " (no activities have learners yet: send statements first)"}.`);
}

function asOfMinus(ctx, days) {
  const base = ctx.get("as_of") ? ms(ctx.get("as_of").length === 16 ? ctx.get("as_of") + ":00Z" : ctx.get("as_of")) : Date.now();
  return new Date(base - days * DAY).toISOString();
}

// The values from the first non-zero one on: the periods before a
// school's first statement say nothing about its trend.
const sinceFirst = (values) => values.slice(Math.max(0, values.findIndex((v) => v > 0)));

// Net revenue per currency in each of the last `weeks` weeks (oldest
// first, the last one ending at as_of). The revenue endpoint has no
// periods; its totals as of the week boundaries differ by each week's
// revenue. `days=0` keeps the unused LTV part of the answers small.
async function weeklyRevenue(ctx, weeks = 8) {
  const totals = await Promise.all(Array.from({ length: weeks + 1 }, (_, k) =>
    ctx.api("/analytics/v1/revenue", { days: "0", as_of: asOfMinus(ctx, 7 * (weeks - k)) }, ["activity"])));
  const byCurrency = totals.map((r) => Object.fromEntries(r.currencies.map((c) => [c.currency, c.revenue])));
  return byCurrency.slice(1).map((now, k) => {
    const before = byCurrency[k], week = {};
    for (const code of new Set([...Object.keys(now), ...Object.keys(before)])) week[code] = (now[code] || 0) - (before[code] || 0);
    return week;
  });
}

const overview = {
  title: "Overview",
  async load(ctx) {
    const activity = ctx.get("activity");
    const [ret, act, weeks, months, surveys, risk, riskBefore, completion, revenue, sales] = await Promise.all([
      settle(ctx.api("/analytics/v1/retention", { days: "7" })),
      settle(ctx.api("/analytics/v1/activity", { period: "day", since: asOfMinus(ctx, 30) })),
      settle(ctx.api("/analytics/v1/activity", { period: "week", since: asOfMinus(ctx, 7 * 12) })),
      settle(ctx.api("/analytics/v1/activity", { period: "month", since: asOfMinus(ctx, 365) })),
      settle(ctx.api("/analytics/v1/surveys", { period: "week" })),
      settle(ctx.api("/analytics/v1/churn-risk", { limit: 1 })),
      settle(ctx.api("/analytics/v1/churn-risk", { limit: 1, as_of: asOfMinus(ctx, 7) }, ["activity"])),
      activity ? settle(ctx.api("/analytics/v1/completion", { cohort: "week" })) : Promise.resolve(null),
      settle(ctx.api("/analytics/v1/revenue", {})),
      settle(weeklyRevenue(ctx)),
    ]);
    const tiles = [];
    if (ret.ok) {
      const cohorts = ret.v.cohorts || [];
      let sum = 0;
      const growth = cohorts.map((c) => (sum += c.learners));
      tiles.push(tile("Enrolled learners", "enrolled", ret.v.learners, fmt.int(ret.v.learners), sparkline(growth, "enrolled learners by cohort")));
    } else tiles.push(tile("Enrolled learners", "enrolled", null, "–", failed(ret)));
    if (act.ok) {
      const series = act.v.periods.map((p) => p.active_learners);
      tiles.push(tile("Daily active (DAU)", "dau", act.v.dau, fmt.int(act.v.dau), sparkline(series, "daily active learners, last 30 days")));
      tiles.push(tile("Weekly active (WAU)", "wau", act.v.wau, fmt.int(act.v.wau),
        weeks.ok ? sparkline(sinceFirst(weeks.v.periods.map((p) => p.active_learners)), "active learners per calendar week, last 12 weeks (the latest so far)") : null));
      tiles.push(tile("Monthly active (MAU)", "mau", act.v.mau, fmt.int(act.v.mau),
        months.ok ? sparkline(sinceFirst(months.v.periods.map((p) => p.active_learners)), "active learners per calendar month, last 12 months (the latest so far)") : null));
    } else tiles.push(tile("Active learners", "dau", null, "–", failed(act)));
    if (completion && completion.ok) {
      const c = completion.v;
      tiles.push(tile("Completion", "completion", c.rate, fmt.pct(c.rate),
        sparkline((c.cohorts || []).map((k) => k.rate), "completion rate by weekly cohort")));
    } else if (completion) tiles.push(tile("Completion", "completion", null, "–", failed(completion)));
    else tiles.push(tile("Completion", "completion", null, "–", el("span", { class: "muted" }, "pick a course")));
    if (surveys.ok) {
      const s = surveys.v, ps = s.periods || [];
      tiles.push(tile("NPS", "nps", s.nps.score, fmt.num(s.nps.score), sparkline(ps.map((p) => p.nps.score), "NPS by week")));
      tiles.push(tile("CSAT", "csat", s.csat.mean, fmt.num(s.csat.mean, 2), sparkline(ps.map((p) => p.csat.mean), "CSAT by week")));
      tiles.push(tile("CES", "ces", s.ces.mean, fmt.num(s.ces.mean, 2), sparkline(ps.map((p) => p.ces.mean), "CES by week")));
    } else tiles.push(tile("Surveys", "nps", null, "–", failed(surveys)));
    if (risk.ok) {
      const delta = riskBefore.ok ? risk.v.count - riskBefore.v.count : null;
      tiles.push(tile("At risk", "at_risk", risk.v.count, fmt.int(risk.v.count),
        delta === null ? null : el("span", { class: "trend" }, `${delta >= 0 ? "+" : ""}${delta} vs a week before`)));
    } else tiles.push(tile("At risk", "at_risk", null, "–", failed(risk)));
    if (revenue.ok) {
      const cs = revenue.v.currencies || [];
      const weekly = sales.ok ? sales.v : null;
      const t = tile("Revenue", "revenue", cs.map((c) => `${c.currency}:${c.revenue}`).join(","),
        cs.length ? cs.map((c) => `${c.currency} ${fmt.money(c.revenue)}`).join("\n") : "none yet",
        cs.length ? [
          weekly ? el("span", { class: "trend" }, `Net per week (last ${weekly.length})`) : null,
          weekly ? el("ul", { class: "spark-list" }, cs.map((c) => {
            const series = weekly.map((w) => w[c.currency] || 0);
            return el("li", {}, el("span", { class: "spark-key" }, c.currency),
              sparkline(series, `net ${c.currency} revenue per week, last ${series.length} weeks`),
              el("span", { class: "spark-last", title: "this week" }, fmt.money(series[series.length - 1])));
          })) : null,
          el("span", { class: "trend" }, cs.map((c) => `${c.currency} repeat ${fmt.pct(c.repeat_rate)}`).join(" · ")),
        ] : null);
      // One line per currency, smaller, when a school sells in several.
      if (cs.length > 1) t.classList.add("multi");
      tiles.push(t);
    } else tiles.push(tile("Revenue", "revenue", null, "–", failed(revenue)));
    const grid = el("div", { class: "tiles" }, tiles);
    if (ret.ok && !ret.v.learners) {
      return el("div", {}, empty("No learners in this scope yet: send xAPI statements to /xapi/statements (or run `trellis simulate`)."), grid);
    }
    return grid;
  },
};

const retention = {
  title: "Retention",
  controls(ctx) {
    return el("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); ctx.set({ cohort: e.target.cohort.value, days: e.target.days.value }); } },
      el("label", {}, "Cohort ", el("select", { name: "cohort" }, ["day", "week", "month"].map((c) => el("option", { value: c, selected: c === ctx.get("cohort", "week") }, c)))),
      el("label", {}, "Day offsets ", el("input", { name: "days", value: ctx.get("days", "1,7,30,60,90"), size: 14 })),
      el("button", { type: "submit" }, "Apply"));
  },
  async load(ctx) {
    const r = await ctx.api("/analytics/v1/retention", { cohort: ctx.get("cohort", "week"), days: ctx.get("days") });
    if (!r.cohorts.length) return empty("No cohorts yet: retention needs learners with statements in this scope.");
    const days = r.overall.map((p) => p.day);
    const row = (label, points, n, key) => el("tr", { "data-cohort": key },
      el("th", { scope: "row" }, label), el("td", { class: "num" }, fmt.int(n)),
      points.map((p) => el("td", {
        class: `cell ${heatClass(p.rate)}`, title: `day ${p.day}: ${fmt.pct(p.rate)} (${p.retained} of ${p.eligible} retained)`,
        "data-metric": `retention-${key}-${p.day}`, "data-value": p.rate === null ? "null" : p.rate,
      }, p.rate === null ? "–" : fmt.pct(p.rate))));
    // The caption stays outside the scrolling box, so a phone shows it whole.
    return el("div", {},
      el("p", { class: "caption", id: "retention-caption" }, "Share of each cohort still active t days after enrolment (hover for counts)"),
      el("div", { class: "scroll" }, el("table", { class: "heatmap", "aria-labelledby": "retention-caption" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Cohort"), el("th", { scope: "col" }, "Learners"), days.map((d) => el("th", { scope: "col" }, `Day ${d}`)))),
        el("tbody", {}, row("All", r.overall, r.learners, "overall"), r.cohorts.map((c) => row(fmt.date(c.start), c.points, c.learners, fmt.date(c.start)))))),
      el("p", { class: "muted" }, "Darker is higher. Churn is 1 − retention."));
  },
};

const completion = {
  title: "Completion & competency",
  async load(ctx) {
    const chosen = ctx.get("activity");
    const courses = chosen ? [{ id: chosen, name: ctx.activityName(chosen) }]
      : ctx.activities().filter((a) => /course/i.test(a.type || "") || /\/course/.test(a.id)).slice(0, 12);
    const list = courses.length ? courses : ctx.activities().slice(0, 8);
    if (!list.length) return needsCourse(ctx, "Completion");
    const rows = await Promise.all(list.map(async (a) => {
      const q = { activity: a.id };
      const [c, t] = await Promise.all([
        ctx.api("/analytics/v1/completion", q, ["as_of"]),
        ctx.api("/analytics/v1/time-to-competency", q, ["as_of"]),
      ]);
      return { a, c, t };
    }));
    return el("div", {},
      el("h3", {}, "Completion rate"),
      barList(rows.map(({ a, c }) => ({ key: a.id, label: a.name || short(a.id), value: c.rate || 0, text: `${fmt.pct(c.rate)} (${fmt.int(c.completed)} of ${fmt.int(c.enrolled)})` })), 1),
      el("div", { class: "scroll" }, el("table", {},
        el("caption", {}, "Completion and time-to-competency by course"),
        el("thead", {}, el("tr", {}, ["Course", "Enrolled", "Completed", "Rate", "Reached competency", "Median time", "90th pct"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows.map(({ a, c, t }) => el("tr", { "data-activity": a.id },
          el("th", { scope: "row" }, a.name || short(a.id)),
          el("td", { class: "num" }, metric("enrolled", c.enrolled, fmt.int(c.enrolled))),
          el("td", { class: "num" }, metric("completed", c.completed, fmt.int(c.completed))),
          el("td", { class: "num" }, metric("rate", c.rate, fmt.pct(c.rate))),
          el("td", { class: "num" }, metric("reached", t.reached, `${fmt.int(t.reached)} (${fmt.pct(t.share)})`)),
          el("td", { class: "num" }, metric("median_seconds", t.median_seconds, fmt.duration(t.median_seconds))),
          el("td", { class: "num" }, fmt.duration(t.p90_seconds))))))));
  },
};

const engagement = {
  title: "Engagement & activity",
  async load(ctx) {
    const q = { period: ctx.get("period", "week"), since: ctx.get("since") && ctx.get("since") + "T00:00:00Z", until: ctx.get("until") && ctx.get("until") + "T23:59:59Z" };
    const [e, a] = await Promise.all([ctx.api("/analytics/v1/engagement", q), ctx.api("/analytics/v1/activity", q)]);
    if (!a.periods.length) return empty("No statements in this scope yet: send xAPI statements to /xapi/statements.");
    const verbs = {};
    for (const p of a.periods) for (const [v, n] of Object.entries(p.verbs)) verbs[v] = (verbs[v] || 0) + n;
    const top = Object.entries(verbs).sort((x, y) => y[1] - x[1]).slice(0, 10);
    const total = a.periods.reduce((s, p) => s + p.statements, 0);
    return el("div", {},
      el("div", { class: "tiles" },
        tile("Statements in range", "statements", total, fmt.int(total)),
        tile("DAU", "dau", a.dau, fmt.int(a.dau)), tile("WAU", "wau", a.wau, fmt.int(a.wau)), tile("MAU", "mau", a.mau, fmt.int(a.mau))),
      el("h3", {}, "Engagement (active ÷ enrolled) per period"),
      lineChart([{ name: "engagement", points: e.periods.map((p) => [ms(p.start), p.rate]) }], { yFormat: fmt.pct, yMin: 0, label: "engagement rate per period" }),
      el("h3", {}, "Statements and active learners per period"),
      legend(["statements", "active learners"]),
      lineChart([
        { name: "statements", points: a.periods.map((p) => [ms(p.start), p.statements]) },
        { name: "active learners", points: a.periods.map((p) => [ms(p.start), p.active_learners]) },
      ], { label: "statements and active learners per period" }),
      el("h3", {}, "Most frequent verbs"),
      barList(top.map(([v, n]) => ({ key: v, label: short(v), value: n, text: fmt.int(n) }))));
  },
};

const surveys = {
  title: "Surveys",
  async load(ctx) {
    const s = await ctx.api("/analytics/v1/surveys", { period: ctx.get("period", "week") });
    const none = !s.nps.responses && !s.csat.responses && !s.ces.responses;
    const tiles = el("div", { class: "tiles" },
      tile("NPS", "nps", s.nps.score, fmt.num(s.nps.score), el("span", { class: "trend" }, `${fmt.int(s.nps.responses)} answers: ${s.nps.promoters} promoters, ${s.nps.passives} passives, ${s.nps.detractors} detractors`)),
      tile("CSAT (1–5)", "csat", s.csat.mean, fmt.num(s.csat.mean, 2), el("span", { class: "trend" }, `${fmt.int(s.csat.responses)} answers, ${fmt.pct(s.csat.satisfied_share)} satisfied`)),
      tile("CES (1–7)", "ces", s.ces.mean, fmt.num(s.ces.mean, 2), el("span", { class: "trend" }, `${fmt.int(s.ces.responses)} answers, ${fmt.pct(s.ces.easy_share)} easy`)),
      tile("Invalid answers", "invalid", s.invalid, fmt.int(s.invalid)));
    if (none) return el("div", {}, empty("No survey answers yet: send `answered` statements whose object has definition.type urn:trellis:cx:activity-type:nps, csat or ces and a result.score.raw on the scale (see the CX profile in schemas/)."), tiles);
    const ps = s.periods || [];
    return el("div", {}, tiles,
      el("h3", {}, "NPS per period"),
      lineChart([{ name: "NPS", points: ps.map((p) => [ms(p.start), p.nps.score]) }], { yMin: -100, yMax: 100, label: "NPS per period" }),
      el("h3", {}, "CSAT and CES means per period"), legend(["CSAT (1–5)", "CES (1–7)"]),
      lineChart([
        { name: "CSAT", points: ps.map((p) => [ms(p.start), p.csat.mean]) },
        { name: "CES", points: ps.map((p) => [ms(p.start), p.ces.mean]) },
      ], { yMin: 1, yMax: 7, yFormat: (v) => fmt.num(v, 1), label: "CSAT and CES per period" }));
  },
};

const journey = {
  title: "Journey",
  async load(ctx) {
    const j = await ctx.api("/analytics/v1/journey", {});
    const enrolled = (j.stages.find((s) => s.stage === "enrolled") || {}).learners;
    if (!enrolled) return empty("No enrolled learners in this scope yet.");
    return el("div", {},
      barList(j.stages.map((s, k) => ({ key: s.stage, label: s.stage, value: s.share ?? 0, colour: k,
        text: s.learners === null ? "n/a in the global scope" : `${fmt.int(s.learners)} (${fmt.pct(s.share)})` })), 1),
      el("ul", { class: "hidden-values" }, j.stages.map((s) => el("li", {}, metric(`stage-${s.stage}`, s.learners, fmt.int(s.learners))))),
      el("p", { class: "muted" }, "Stages are independent counts over the enrolled learners: enrolled → activated (active on two days) → achieved (completed) → reviewed (answered a survey) → repurchased (two purchases)."));
  },
};

import { funnel, experiments, revenue, atRisk, feed } from "./views2.js";

export const VIEWS = { overview, retention, completion, engagement, surveys, journey, funnel, experiments, revenue, "at-risk": atRisk, feed };
export { el, fmt, metric, tile, empty, short, VERB, ms, failed, settle };
