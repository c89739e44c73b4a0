// The dashboard's shell: session, URL state, the shared controls, API
// calls and the refresh loop. Every number comes from the public
// /analytics/v1/* and /xapi/statements APIs, with the session cookie.

import { el } from "./charts.js";
import { VIEWS } from "./views.js";

const REFRESH_MS = 5000;
// The scope picker's list is reloaded with the refresh, at most this often.
const ACTIVITIES_MS = 60000;
const SESSION_ENDED = "Your session has ended: sign in again.";
const $ = (id) => document.getElementById(id);

// The shared controls (index.html) each view reads, through ctx.get and the
// shared parameters of ctx.api (activity, as_of) in views.js and views2.js.
// The others are hidden on that view: they would do nothing there.
// "refresh" is always shown.
const SCOPE = ["scope", "as_of"];
const VIEW_CONTROLS = {
  overview: SCOPE,
  retention: SCOPE,
  completion: SCOPE,
  engagement: [...SCOPE, "since", "until", "period"],
  surveys: [...SCOPE, "period"],
  journey: SCOPE,
  funnel: SCOPE,
  experiments: SCOPE,
  revenue: SCOPE,
  "at-risk": SCOPE,
  feed: SCOPE,
};
const SHARED_CONTROLS = ["scope", "as_of", "since", "until", "period"];

// An answer other than 2xx, with the API's own message.
export class ApiFailure extends Error {
  constructor(status, message, path) {
    super(message);
    this.status = status;
    this.path = path;
  }
}

let generation = 0;
let timer = null;
let activities = [];
let activitiesLoadedAt = 0;
let currentView = null;
// The HTML the view body shows, to leave it alone when a refresh renders
// the same thing.
let shownHtml = null;

const params = () => new URLSearchParams(location.search);

async function call(path, query, init = {}) {
  const url = query ? `${path}?${query}` : path;
  const headers = { Accept: "application/json", ...(init.headers || {}) };
  if (path.startsWith("/xapi/")) headers["X-Experience-API-Version"] = "2.0.0";
  let res;
  try {
    res = await fetch(url, { credentials: "same-origin", ...init, headers });
  } catch (e) {
    throw new ApiFailure(0, `the server did not answer (${e.message})`);
  }
  if (res.status === 204) return null;
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    // Any refused request but the sign-in itself means the session ended
    // (signed out elsewhere, expired, credential revoked).
    if (res.status === 401 && path !== "/dashboard/session") showSignIn(SESSION_ENDED);
    throw new ApiFailure(res.status, (body && body.message) || res.statusText || `HTTP ${res.status}`, body && body.path);
  }
  return body;
}

// Builds the query string of an API call from the shared controls plus
// `extra` (undefined and empty values are left out; arrays repeat).
function query(extra = {}, shared = ["activity", "as_of"]) {
  const p = params();
  const q = new URLSearchParams();
  for (const k of shared) if (p.get(k)) q.set(k, k === "as_of" ? toRfc3339(p.get(k)) : p.get(k));
  for (const [k, v] of Object.entries(extra)) {
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  return q.toString();
}

function toRfc3339(local) {
  return /Z|[+-]\d\d:\d\d$/.test(local) ? local : `${local.length === 16 ? local + ":00" : local}Z`;
}

// Updates the URL (a shareable link) and reloads the view.
function setParams(changes, push = true) {
  const p = params();
  for (const [k, v] of Object.entries(changes)) {
    p.delete(k);
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x));
    else if (v !== undefined && v !== null && v !== "") p.set(k, v);
  }
  const url = `${location.pathname}?${p.toString()}`;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
  route();
}

const ctx = {
  api: (path, extra, shared) => call(path, query(extra, shared)),
  xapi: (q) => call("/xapi/statements", q),
  get: (k, d = "") => params().get(k) || d,
  getAll: (k) => params().getAll(k),
  set: setParams,
  activities: () => activities,
  activityName: (iri) => (activities.find((a) => a.id === iri) || {}).name || iri,
};

function showSignIn(message) {
  clearInterval(timer);
  timer = null;
  generation++; // what is still loading is not shown
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
  $("key").focus();
}

async function signIn(event) {
  event.preventDefault();
  $("signin-error").textContent = "";
  try {
    const who = await call("/dashboard/session", null, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ key: $("key").value, secret: $("secret").value }),
    });
    $("secret").value = "";
    await start(who);
  } catch (e) {
    $("signin-error").textContent = e.status === 401 ? "Unknown key or wrong secret." : e.message;
  }
}

async function signOut() {
  await call("/dashboard/session", null, { method: "DELETE" }).catch(() => null);
  showSignIn("Signed out.");
}

// The scope picker's list. A failure keeps the list loaded before and says
// so next to the picker.
async function loadActivities() {
  activitiesLoadedAt = Date.now();
  let list;
  try {
    list = (await call("/analytics/v1/activities", "limit=500")).activities;
  } catch (e) {
    if (e.status === 401) return; // call() went back to the sign-in form
    showScopeError(`The course list could not be loaded: ${e.message}`);
    return;
  }
  showScopeError("");
  if (JSON.stringify(list) === JSON.stringify(activities)) return;
  activities = list;
  $("scope-options").replaceChildren(...activities.map((a) => el("option", { value: scopeLabel(a.id) })));
  // Names may have arrived; never rewrite what someone is typing.
  if (document.activeElement !== $("scope")) $("scope").value = scopeLabel(params().get("activity") || "");
}

function showScopeError(text) {
  $("scope-error").textContent = text;
  $("scope-error").hidden = !text;
}

function scopeLabel(iri) {
  if (!iri) return "";
  const name = ctx.activityName(iri);
  return name !== iri ? `${name} — ${iri}` : iri;
}

// The shared controls mirror the URL.
function syncControls() {
  const p = params();
  $("scope").value = scopeLabel(p.get("activity") || "");
  $("as_of").value = p.get("as_of") || "";
  $("since").value = (p.get("since") || "").slice(0, 10);
  $("until").value = (p.get("until") || "").slice(0, 10);
  $("period").value = p.get("period") || "week";
  $("refresh").checked = p.get("refresh") !== "off";
  const name = VIEWS[p.get("view")] ? p.get("view") : "overview";
  const uses = VIEW_CONTROLS[name] || SCOPE;
  for (const id of SHARED_CONTROLS) $(id).closest(".field").hidden = !uses.includes(id);
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === name) {
      link.setAttribute("aria-current", "page");
      revealInNav(link);
    } else link.removeAttribute("aria-current");
  }
}

// Scrolls the views' bar sideways (it scrolls on a phone) so the current
// view's link is in sight. Only the bar scrolls: scrollIntoView would also
// move the page.
function revealInNav(link) {
  const nav = $("nav");
  const l = link.getBoundingClientRect(), n = nav.getBoundingClientRect();
  if (l.left < n.left) nav.scrollLeft -= n.left - l.left;
  else if (l.right > n.right) nav.scrollLeft += l.right - n.right;
}

function scopeChanged() {
  const text = $("scope").value.trim();
  if (!text) return setParams({ activity: "", offset: "" });
  const byLabel = activities.find((a) => text === `${a.name} — ${a.id}` || text === a.id || text === a.name);
  const iri = byLabel ? byLabel.id : text.split(" — ").pop();
  setParams({ activity: iri, offset: "" });
}

function wireControls() {
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  $("scope").addEventListener("change", scopeChanged);
  $("scope-clear").addEventListener("click", () => setParams({ activity: "" }));
  $("as_of").addEventListener("change", (e) => setParams({ as_of: e.target.value }));
  $("since").addEventListener("change", (e) => setParams({ since: e.target.value }));
  $("until").addEventListener("change", (e) => setParams({ until: e.target.value }));
  $("period").addEventListener("change", (e) => setParams({ period: e.target.value }));
  $("refresh").addEventListener("change", (e) => setParams({ refresh: e.target.checked ? "" : "off" }, false));
  for (const link of document.querySelectorAll("#nav a")) {
    link.addEventListener("click", (e) => {
      e.preventDefault();
      setParams({ view: link.dataset.view, offset: "" });
    });
  }
  window.addEventListener("popstate", route);
}

// Renders the view's controls once per navigation, then its data, again
// every few seconds.
function route() {
  syncControls();
  const name = params().get("view") || "overview";
  const view = VIEWS[name] || VIEWS.overview;
  currentView = view;
  shownHtml = null;
  document.title = `${view.title} · Trellis`;
  $("view-title").textContent = view.title;
  $("view-controls").replaceChildren(...(view.controls ? [view.controls(ctx)] : []));
  $("view-body").replaceChildren(el("p", { class: "loading" }, "Loading…"));
  refresh(true);
  clearInterval(timer);
  timer = params().get("refresh") === "off" ? null : setInterval(() => refresh(false), REFRESH_MS);
}

// Loads the view's data. The body is rebuilt only when what it shows
// changed, and then keeps the keyboard focus where it was: a rebuild every
// few seconds would otherwise throw a keyboard or screen-reader user back
// to the top of the page.
async function refresh(first) {
  const mine = ++generation;
  const view = currentView;
  const body = $("view-body");
  if (first) body.setAttribute("aria-busy", "true");
  else if (Date.now() - activitiesLoadedAt >= ACTIVITIES_MS) loadActivities();
  let node;
  try {
    node = await view.load(ctx);
  } catch (e) {
    node = errorBox(e);
  }
  if (mine !== generation || view !== currentView) return;
  const html = node.outerHTML;
  if (html !== shownHtml) {
    const focus = focusedIn(body);
    body.replaceChildren(node);
    restoreFocus(body, focus);
    shownHtml = html;
    const error = node.matches('[data-state="error"]') ? node : node.querySelector('.error[data-state="error"]');
    if (error) announce(error.textContent);
    else if (!first) announce(`${view.title} updated`);
  }
  body.setAttribute("aria-busy", "false");
  body.dataset.loadedAt = new Date().toISOString();
  $("updated").textContent = `Updated ${new Date().toLocaleTimeString("en-GB")}`;
}

// The one live region: errors, and that a view's numbers changed. The view
// body itself is not live: it would be read out again on every change.
function announce(text) {
  $("announce").textContent = text;
}

const FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";

// Where the focus is inside `body`: a selector of the element's id or its
// identifying attributes, and its place among the focusable elements.
function focusedIn(body) {
  const node = document.activeElement;
  if (!node || node === body || !body.contains(node)) return null;
  const all = [...body.querySelectorAll(FOCUSABLE)];
  const same = all.filter((n) => n.tagName === node.tagName && n.textContent === node.textContent);
  let selector = null;
  if (node.id) selector = `#${CSS.escape(node.id)}`;
  else {
    const keys = [...node.attributes].filter((a) => /^(data-(?!value$|state$)|name$|aria-label$|href$)/.test(a.name));
    if (keys.length) selector = node.tagName.toLowerCase() + keys.map((a) => `[${a.name}="${CSS.escape(a.value)}"]`).join("");
  }
  return { selector, tag: node.tagName, text: node.textContent, nth: same.indexOf(node), index: all.indexOf(node) };
}

// Focuses the new element that stands where the focused one stood: the same
// id or attributes, else the same tag and text, else the same place.
function restoreFocus(body, was) {
  if (!was) return;
  const all = [...body.querySelectorAll(FOCUSABLE)];
  const same = all.filter((n) => n.tagName === was.tag && n.textContent === was.text);
  const target = (was.selector && body.querySelector(was.selector)) || same[Math.max(0, was.nth)]
    || all[Math.min(was.index, all.length - 1)] || body;
  target.focus({ preventScroll: true });
}

export function errorBox(e) {
  const where = e.path ? ` (parameter ${e.path})` : "";
  return el("div", { class: "error", role: "alert", "data-state": "error" },
    el("strong", {}, e.status ? `The API refused (${e.status})${where}: ` : "Error: "), e.message);
}

async function start(who) {
  $("who").textContent = `Signed in as ${who.name || who.key}`;
  $("signin").hidden = true;
  $("app").hidden = false;
  await loadActivities();
  route();
}

async function boot() {
  wireControls();
  try {
    const who = await call("/dashboard/session");
    if (!who.signed_in) return showSignIn("");
    await start(who);
  } catch (e) {
    showSignIn(e.message);
  }
}

boot();
