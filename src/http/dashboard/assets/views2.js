// The views that steer: the funnel builder, experiments, revenue and LTV,
// the at-risk list and the live statement feed. Helpers come from views.js.

import { el, fmt, metric, tile, empty, short, VERB, ms } from "./views.js";
import { lineChart, legend, barList, intervalPlot } from "./charts.js";

// The verbs seen in the scope's recent activity, for the funnel builder.
async function verbsSeen(ctx) {
  try {
    const a = await ctx.api("/analytics/v1/activity", { period: "month" });
    const verbs = {};
    for (const p of a.periods) for (const [v, n] of Object.entries(p.verbs)) verbs[v] = (verbs[v] || 0) + n;
    return Object.entries(verbs).sort((x, y) => y[1] - x[1]).map(([v]) => v);
  } catch (e) {
    return [];
  }
}

function parseStep(text) {
  try {
    const s = JSON.parse(text);
    return s && typeof s === "object" ? s : {};
  } catch (e) {
    return {};
  }
}

const MAX_STEPS = 10;

export const funnel = {
  title: "Funnel",
  controls(ctx) {
    const steps = ctx.getAll("step").map(parseStep);
    while (steps.length < 2) steps.push(steps.length ? { verb: VERB.completed } : { verb: VERB.registered });
    const verbList = el("datalist", { id: "verbs-seen" });
    const objList = el("datalist", { id: "objects-seen" }, ctx.activities().map((a) => el("option", { value: a.id }, a.name || "")));
    verbsSeen(ctx).then((vs) => verbList.replaceChildren(...vs.map((v) => el("option", { value: v }))));
    const rows = el("ol", { class: "steps" });
    const addButton = el("button", { type: "button", class: "secondary", onclick: () => { if (rows.children.length < MAX_STEPS) addRow({}); } }, "Add step");
    // Every label carries its row's current number: after a removal or an
    // addition all rows are numbered again, and the limits (2 to 10 steps)
    // show as disabled buttons rather than clicks that do nothing.
    const renumber = () => {
      [...rows.children].forEach((li, k) => {
        const n = k + 1;
        li.querySelector(".step-verb").textContent = `Step ${n} verb `;
        li.querySelector("[name=object]").setAttribute("aria-label", `Step ${n} object`);
        li.querySelector("[name=type]").setAttribute("aria-label", `Step ${n} type`);
        const remove = li.querySelector(".remove");
        remove.setAttribute("aria-label", `Remove step ${n}`);
        remove.disabled = rows.children.length <= 2;
      });
      addButton.disabled = rows.children.length >= MAX_STEPS;
    };
    const addRow = (s) => {
      const li = el("li", { class: "step" },
        el("label", {}, el("span", { class: "step-verb" }), el("input", { name: "verb", list: "verbs-seen", value: s.verb || "", size: 34, placeholder: "verb IRI" })),
        el("label", {}, "object ", el("input", { name: "object", list: "objects-seen", value: s.object || "", size: 30, placeholder: "Activity IRI (optional)" })),
        el("label", {}, "type ", el("input", { name: "type", value: s.type || "", size: 24, placeholder: "definition.type (optional)" })),
        el("button", { type: "button", class: "secondary remove", onclick: () => {
          if (rows.children.length <= 2) return;
          // Focus moves to the row that takes this one's place, not to the page.
          const next = li.nextElementSibling || li.previousElementSibling;
          li.remove();
          renumber();
          next.querySelector("[name=verb]").focus();
        } }, "Remove"));
      rows.append(li);
      renumber();
    };
    steps.forEach(addRow);
    const form = el("form", { class: "builder", onsubmit: (e) => {
      e.preventDefault();
      const out = [...rows.children].map((li) => {
        const s = {};
        for (const k of ["verb", "object", "type"]) {
          const v = li.querySelector(`[name=${k}]`).value.trim();
          if (v) s[k] = v;
        }
        return JSON.stringify(s);
      }).filter((s) => s !== "{}");
      ctx.set({ step: out, window_days: form.window_days.value, cohort: form.cohort.value });
    } },
    verbList, objList, rows,
    el("div", { class: "inline" },
      addButton,
      el("label", {}, "Window (days) ", el("input", { name: "window_days", type: "number", min: 1, value: ctx.get("window_days"), size: 5 })),
      el("label", {}, "Cohort ", el("select", { name: "cohort" }, ["", "day", "week", "month"].map((c) => el("option", { value: c, selected: c === ctx.get("cohort") }, c || "none")))),
      el("button", { type: "submit" }, "Run funnel")));
    return form;
  },
  async load(ctx) {
    let steps = ctx.getAll("step");
    if (steps.length < 2) steps = [JSON.stringify({ verb: VERB.registered }), JSON.stringify({ verb: VERB.completed })];
    const f = await ctx.api("/analytics/v1/funnel", { step: steps, window_days: ctx.get("window_days"), cohort: ctx.get("cohort") });
    if (!f.learners) return empty("No learner reached step 1 yet: check the first step's verb and object.");
    return el("div", {},
      el("p", {}, "Learners who reached step 1: ", metric("funnel-learners", f.learners, fmt.int(f.learners))),
      barList(f.steps.map((s, k) => ({ key: s.step, label: `Step ${s.step}: ${describe(steps[k])}`, value: s.conversion ?? 0, colour: k,
        text: `${fmt.int(s.learners)} (${fmt.pct(s.conversion)})` })), 1),
      el("div", { class: "scroll" }, el("table", {},
        el("caption", {}, "Conversion and time between steps"),
        el("thead", {}, el("tr", {}, ["Step", "Learners", "Conversion", "From previous", "Median time", "90th pct"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, f.steps.map((s) => el("tr", {},
          el("th", { scope: "row" }, String(s.step)),
          el("td", { class: "num" }, metric(`step-${s.step}`, s.learners, fmt.int(s.learners))),
          el("td", { class: "num" }, fmt.pct(s.conversion)),
          el("td", { class: "num" }, fmt.pct(s.step_conversion)),
          el("td", { class: "num" }, fmt.duration(s.median_seconds)),
          el("td", { class: "num" }, fmt.duration(s.p90_seconds))))))),
      f.cohorts && f.cohorts.length ? el("div", { class: "scroll" }, el("table", {},
        el("caption", {}, "Learners reaching each step, by the period of their step 1"),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Cohort"), f.steps.map((s) => el("th", { scope: "col" }, `Step ${s.step}`)))),
        el("tbody", {}, f.cohorts.map((c) => el("tr", {},
          el("th", { scope: "row" }, fmt.date(c.start)),
          c.steps.map((s) => el("td", { class: "num" }, `${fmt.int(s.learners)} (${fmt.pct(s.conversion)})`))))))) : null);
  },
};

function describe(stepJson) {
  const s = parseStep(stepJson);
  return [s.verb && short(s.verb), s.object && short(s.object), s.type && short(s.type)].filter(Boolean).join(" · ");
}

// Experiment ids seen in recent statements (the exposure extension), to
// suggest in the experiment picker.
async function experimentsSeen(ctx) {
  try {
    const page = await ctx.xapi("limit=500");
    const ids = new Set();
    for (const s of page.statements) {
      const x = s.context && s.context.extensions && s.context.extensions["urn:trellis:cx:extension:experiment"];
      if (x && typeof x.id === "string") ids.add(x.id);
    }
    return [...ids].sort();
  } catch (e) {
    return [];
  }
}

export const experiments = {
  title: "Experiments",
  controls(ctx) {
    const list = el("datalist", { id: "experiments-seen" });
    experimentsSeen(ctx).then((ids) => list.replaceChildren(...ids.map((i) => el("option", { value: i }))));
    const metricSel = el("select", { name: "metric" }, ["completion", "retention", "nps", "csat", "ces"].map((m) => el("option", { value: m, selected: m === ctx.get("metric", "completion") }, m)));
    return el("form", { class: "inline", onsubmit: (e) => {
      e.preventDefault();
      const f = e.target;
      ctx.set({ experiment: f.experiment.value.trim(), metric: f.metric.value, window_days: f.window_days.value, day: f.day.value, control: f.control.value.trim() });
    } }, list,
    el("label", {}, "Experiment ", el("input", { name: "experiment", list: "experiments-seen", value: ctx.get("experiment"), required: true, size: 22 })),
    el("label", {}, "Metric ", metricSel),
    el("label", {}, "Window (days) ", el("input", { name: "window_days", type: "number", min: 1, value: ctx.get("window_days"), size: 4, placeholder: "30" })),
    el("label", {}, "Retention day ", el("input", { name: "day", type: "number", min: 0, value: ctx.get("day"), size: 4, placeholder: "7" })),
    el("label", {}, "Control ", el("input", { name: "control", value: ctx.get("control"), size: 10, placeholder: "control" })),
    el("button", { type: "submit" }, "Analyse"));
  },
  async load(ctx) {
    const id = ctx.get("experiment");
    if (!id) return empty("Pick an experiment: learners are exposed through the context extension urn:trellis:cx:extension:experiment {\"id\", \"variant\"} (see the CX profile in schemas/).");
    const m = ctx.get("metric", "completion");
    if (m === "completion" && !ctx.get("activity")) return empty("Completion is measured in a course: pick a course in the scope picker.");
    const x = await ctx.api("/analytics/v1/experiment", { experiment: id, metric: m, window_days: ctx.get("window_days"), day: ctx.get("day"), control: ctx.get("control") });
    if (!x.variants.length) return empty(`Nobody was exposed to “${id}” yet.`);
    const binary = m === "completion" || m === "retention";
    const f = binary ? fmt.pct : (v) => fmt.num(v, 2);
    const srm = x.srm
      ? el("div", { class: "error", role: "alert", "data-state": "srm" }, el("strong", {}, "Sample-ratio mismatch: "),
        `the variants' exposure counts are far from an even split (p = ${fmt.pvalue(x.srm_p_value)}). The assignment is broken: do not trust this comparison.`)
      : el("p", { class: "muted" }, `Split check: p = ${fmt.pvalue(x.srm_p_value)} (no sample-ratio mismatch). ${x.conflicted} learners saw several variants and are left out.`);
    return el("div", {}, srm,
      el("h3", {}, `${m} by variant, 95% confidence intervals (control: ${x.control})`),
      intervalPlot(x.variants.map((v) => ({ label: v.variant, value: v.value, low: v.ci_low, high: v.ci_high })), { format: f, label: "variant values with confidence intervals" }),
      el("div", { class: "scroll" }, el("table", {},
        el("caption", {}, "Variants against the control"),
        el("thead", {}, el("tr", {}, ["Variant", "Exposed", "n", binary ? "Successes" : null, "Value", "95% CI", "Lift", "Difference CI", "p-value", "Chance to beat control"].filter(Boolean).map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, x.variants.map((v) => el("tr", { "data-variant": v.variant },
          el("th", { scope: "row" }, v.variant + (v.variant === x.control ? " (control)" : "")),
          el("td", { class: "num" }, metric(`exposed-${v.variant}`, v.exposed, fmt.int(v.exposed))),
          el("td", { class: "num" }, fmt.int(v.n)),
          binary ? el("td", { class: "num" }, fmt.int(v.successes)) : null,
          el("td", { class: "num" }, metric(`value-${v.variant}`, v.value, f(v.value))),
          el("td", { class: "num" }, v.ci_low === null ? "–" : `${f(v.ci_low)} – ${f(v.ci_high)}`),
          el("td", { class: "num" }, v.relative_lift === null ? "–" : `${v.relative_lift >= 0 ? "+" : ""}${fmt.pct(v.relative_lift)}`),
          el("td", { class: "num" }, v.difference_ci_low === null ? "–" : `${f(v.difference_ci_low)} – ${f(v.difference_ci_high)}`),
          el("td", { class: "num" }, metric(`p-${v.variant}`, v.p_value, fmt.pvalue(v.p_value))),
          el("td", { class: "num" }, v.chance_to_beat_control === null ? "–" : fmt.pct(v.chance_to_beat_control))))))));
  },
};

// The default LTV day offsets: weekly cohorts reach the early ones soon,
// so a young school already sees curves (the API's default starts at 30).
const LTV_DAYS = "0,7,14,30,60,90";
const LTV_COHORTS = 8;

// The LTV curves of one currency's latest cohorts: a cohort is a line from
// two reached days on, a dot with one, and absent with none; the x axis
// spans the days some cohort has reached.
function ltvChart(c) {
  const shown = c.cohorts.slice(-LTV_COHORTS).filter((k) => k.points.some((p) => p.ltv !== null));
  if (!shown.length) return el("p", { class: "muted" }, "No cohort has been enrolled long enough for a lifetime value yet.");
  const reached = (k) => k.points.filter((p) => p.ltv !== null).map((p) => p.day);
  const days = [...new Set(shown.flatMap(reached))].sort((x, y) => x - y);
  const young = shown.filter((k) => Math.max(...reached(k)) < days[days.length - 1]);
  const newest = shown[shown.length - 1];
  const dots = shown.filter((k) => reached(k).length === 1).length;
  return el("div", {},
    el("h4", {}, "Lifetime value per learner by enrolment cohort (x: days since enrolment)"),
    legend(shown.map((k) => fmt.date(k.start))),
    lineChart(shown.map((k) => ({ name: fmt.date(k.start), points: k.points.map((p) => [p.day, p.ltv]) })),
      { xFormat: (d) => String(Math.round(d)), xTicks: days, xFromValues: true, yFormat: fmt.money, label: `LTV curves in ${c.currency}` }),
    young.length ? el("p", { class: "muted", "data-state": "young-cohorts" },
      `${young.length} of ${shown.length} cohorts are too young for the later days: a day appears once some of a cohort's learners have been enrolled that long (the ${fmt.date(newest.start)} cohort reaches day ${Math.max(...reached(newest))}).${dots ? ` ${dots === 1 ? "One cohort has" : `${dots} cohorts have`} a single day so far, shown as a dot.` : ""}`) : null);
}

export const revenue = {
  title: "Revenue & LTV",
  controls(ctx) {
    return el("form", { class: "inline", onsubmit: (e) => {
      e.preventDefault();
      const f = e.target;
      ctx.set({ currency: f.currency.value.trim().toUpperCase(), cohort: f.cohort.value, ltv_days: f.ltv_days.value.replace(/\s+/g, "") });
    } },
    el("label", {}, "Currency ", el("input", { name: "currency", value: ctx.get("currency"), size: 4, maxlength: 3, placeholder: "all" })),
    el("label", {}, "Cohort ", el("select", { name: "cohort" }, ["day", "week", "month"].map((c) => el("option", { value: c, selected: c === ctx.get("cohort", "week") }, c)))),
    el("label", {}, "LTV days ", el("input", { name: "ltv_days", value: ctx.get("ltv_days", LTV_DAYS), size: 16, pattern: "\\s*\\d+(\\s*,\\s*\\d+)*\\s*", title: "days since enrolment, separated by commas" })),
    el("button", { type: "submit" }, "Apply"));
  },
  async load(ctx) {
    const r = await ctx.api("/analytics/v1/revenue", { currency: ctx.get("currency"), cohort: ctx.get("cohort", "week"), days: ctx.get("ltv_days", LTV_DAYS) });
    if (!r.currencies.length) return empty("No purchases yet: send statements with verb http://activitystrea.ms/schema/1.0/purchase and the amount and currency result extensions (see the CX profile in schemas/).");
    return el("div", {},
      r.invalid ? el("p", { class: "muted" }, `${fmt.int(r.invalid)} purchase or refund statements were malformed and are not counted.`) : null,
      r.currencies.map((c) => el("section", { class: "currency", "data-currency": c.currency },
        el("h3", {}, c.currency),
        el("div", { class: "tiles" },
          tile("Net revenue", `revenue-${c.currency}`, c.revenue, fmt.money(c.revenue)),
          tile("Purchases / refunds", `purchases-${c.currency}`, c.purchases, `${fmt.int(c.purchases)} / ${fmt.int(c.refunds)}`),
          tile("Buyers (repeat)", `buyers-${c.currency}`, c.buyers, `${fmt.int(c.buyers)} (${fmt.pct(c.repeat_rate)})`),
          tile("ARPU / ARPPU", `arpu-${c.currency}`, c.arpu, `${fmt.money(c.arpu)} / ${fmt.money(c.arppu)}`)),
        c.cohorts.length ? ltvChart(c) : null)));
  },
};

function actorLabel(a) {
  if (!a) return "–";
  if (a.mbox) return a.mbox.replace(/^mailto:/, "");
  if (a.account) return `${a.account.name} @ ${a.account.homePage}`;
  return a.openid || a.mbox_sha1sum || a.name || "(anonymous)";
}

function csvCell(v) {
  const s = String(v ?? "");
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const PAGE = 25;

export const atRisk = {
  title: "At risk",
  controls(ctx) {
    const problem = el("div", { class: "csv-problem" });
    const download = async (button) => {
      button.disabled = true;
      button.textContent = "Preparing…";
      problem.replaceChildren();
      try {
        const rows = [["learner", "mbox", "mbox_sha1sum", "openid", "account_home_page", "account_name", "enrolled_at", "last_active"]];
        for (let offset = 0, count = 1; offset < count; offset += 1000) {
          const page = await ctx.api("/analytics/v1/churn-risk", { limit: 1000, offset, inactive_days: ctx.get("inactive_days"), churned_days: ctx.get("churned_days") });
          count = page.count;
          for (const l of page.learners) {
            const a = l.actor || {};
            rows.push([a.name || "", a.mbox || "", a.mbox_sha1sum || "", a.openid || "", a.account ? a.account.homePage : "", a.account ? a.account.name : "", l.enrolled_at, l.last_active]);
          }
          if (!page.learners.length) break;
        }
        const blob = new Blob([rows.map((r) => r.map(csvCell).join(",")).join("\n") + "\n"], { type: "text/csv" });
        const url = URL.createObjectURL(blob);
        const a = el("a", { href: url, download: "at-risk-learners.csv" });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
      } catch (e) {
        // The views' error box, loaded when needed: app.js imports the
        // views, so a static import here would be a cycle.
        const { errorBox } = await import("./app.js");
        problem.replaceChildren(el("p", { class: "muted" }, "The CSV download failed:"), errorBox(e));
      } finally {
        button.disabled = false;
        button.textContent = "Download CSV";
      }
    };
    return el("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); ctx.set({ inactive_days: e.target.inactive_days.value, churned_days: e.target.churned_days.value, offset: "" }); } },
      el("label", {}, "Inactive for at least (days) ", el("input", { name: "inactive_days", type: "number", min: 1, value: ctx.get("inactive_days"), placeholder: "7", size: 4 })),
      el("label", {}, "and less than ", el("input", { name: "churned_days", type: "number", min: 1, value: ctx.get("churned_days"), placeholder: "30", size: 4 })),
      el("button", { type: "submit" }, "Apply"),
      el("button", { type: "button", id: "csv", class: "secondary", onclick: (e) => download(e.currentTarget) }, "Download CSV"),
      problem);
  },
  async load(ctx) {
    const offset = Number(ctx.get("offset", "0")) || 0;
    const r = await ctx.api("/analytics/v1/churn-risk", { limit: PAGE, offset, inactive_days: ctx.get("inactive_days"), churned_days: ctx.get("churned_days") });
    if (!r.count) return el("div", {}, el("p", {}, "Learners at risk: ", metric("at_risk", 0, "0")), empty("Nobody is at risk: no enrolled learner without a completion has been inactive that long."));
    const last = Math.min(offset + r.learners.length, r.count);
    return el("div", {},
      el("p", {}, "Learners at risk: ", metric("at_risk", r.count, fmt.int(r.count)), ` (inactive ${r.inactive_days} to ${r.churned_days} days, oldest activity first)`),
      el("div", { class: "scroll" }, el("table", {},
        el("caption", {}, `Learners ${offset + 1}–${last} of ${fmt.int(r.count)}`),
        el("thead", {}, el("tr", {}, ["Learner", "Enrolled", "Last active", "Inactive"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, r.learners.map((l) => el("tr", {},
          el("td", {}, actorLabel(l.actor)), el("td", {}, fmt.date(l.enrolled_at)), el("td", {}, fmt.date(l.last_active)),
          el("td", { class: "num" }, `${Math.floor((ms(r.as_of) - ms(l.last_active)) / 86400000)} d`)))))),
      el("nav", { class: "pager", "aria-label": "pages" },
        el("button", { type: "button", class: "secondary", disabled: offset === 0, onclick: () => ctx.set({ offset: Math.max(0, offset - PAGE) }) }, "← Previous"),
        el("span", {}, `Page ${Math.floor(offset / PAGE) + 1} of ${Math.ceil(r.count / PAGE)}`),
        el("button", { type: "button", class: "secondary", disabled: last >= r.count, onclick: () => ctx.set({ offset: offset + PAGE }) }, "Next →")));
  },
};

const lang = (m) => (m ? m["en-US"] || m.en || Object.values(m)[0] : "");

export const feed = {
  title: "Live feed",
  controls(ctx) {
    return el("form", { class: "inline", onsubmit: (e) => {
      e.preventDefault();
      ctx.set({ verb: e.target.verb.value.trim(), agent: e.target.agent.value.trim() });
    } },
    el("label", {}, "Verb ", el("input", { name: "verb", value: ctx.get("verb"), size: 34, placeholder: "verb IRI" })),
    el("label", {}, "Learner e-mail ", el("input", { name: "agent", type: "email", value: ctx.get("agent"), size: 22, placeholder: "ada@example.com" })),
    el("button", { type: "submit" }, "Filter"));
  },
  async load(ctx) {
    const q = new URLSearchParams({ limit: "25", format: "exact" });
    if (ctx.get("activity")) { q.set("activity", ctx.get("activity")); q.set("related_activities", "true"); }
    if (ctx.get("verb")) q.set("verb", ctx.get("verb"));
    if (ctx.get("agent")) q.set("agent", JSON.stringify({ mbox: `mailto:${ctx.get("agent")}` }));
    if (ctx.get("as_of")) q.set("until", new Date(Date.parse(ctx.get("as_of").length === 16 ? ctx.get("as_of") + ":00Z" : ctx.get("as_of"))).toISOString());
    const page = await ctx.xapi(q.toString());
    if (!page.statements.length) return empty("No statements match: send statements to /xapi/statements, or loosen the filters.");
    return el("div", { class: "scroll" }, el("table", { class: "feed" },
      el("caption", {}, "The latest statements, newest first (refreshes by itself)"),
      el("thead", {}, el("tr", {}, ["Stored", "Actor", "Verb", "Object", "Result"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, page.statements.map((s) => el("tr", { "data-id": s.id },
        el("td", {}, s.stored.slice(0, 19).replace("T", " ")),
        el("td", {}, actorLabel(s.actor)),
        el("td", {}, lang(s.verb.display) || short(s.verb.id)),
        el("td", { title: s.object.id || "" }, lang(s.object.definition && s.object.definition.name) || short(s.object.id)),
        el("td", {}, s.result ? [s.result.score && s.result.score.raw !== undefined ? `score ${s.result.score.raw}` : "", s.result.success === true ? "success" : s.result.success === false ? "fail" : ""].filter(Boolean).join(" ") : ""))))));
  },
};
