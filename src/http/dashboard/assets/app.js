// The dashboard's shell: session, URL state, the shared controls, API
// calls and the refresh loop. Every number comes from the public
// /analytics/v1/* and /xapi/statements APIs, with the session cookie.

import { el } from "./charts.js";
import { VIEWS } from "./views.js";

const REFRESH_MS = 5000;
const $ = (id) => document.getElementById(id);

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
let currentView = null;

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
    if (res.status === 401 && path !== "/dashboard/session") showSignIn("Your session has ended: sign in again.");
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

async function loadActivities() {
  try {
    activities = (await call("/analytics/v1/activities", "limit=500")).activities;
  } catch (e) {
    activities = [];
  }
  const list = $("scope-options");
  list.replaceChildren(...activities.map((a) => el("option", { value: a.name ? `${a.name} — ${a.id}` : a.id })));
}

// The shared controls mirror the URL.
function syncControls() {
  const p = params();
  const a = p.get("activity") || "";
  $("scope").value = a ? (ctx.activityName(a) !== a ? `${ctx.activityName(a)} — ${a}` : a) : "";
  $("as_of").value = p.get("as_of") || "";
  $("since").value = (p.get("since") || "").slice(0, 10);
  $("until").value = (p.get("until") || "").slice(0, 10);
  $("period").value = p.get("period") || "week";
  $("refresh").checked = p.get("refresh") !== "off";
  for (const link of document.querySelectorAll("#nav a")) {
    const on = link.dataset.view === (p.get("view") || "overview");
    if (on) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
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
  document.title = `${view.title} · Trellis`;
  $("view-title").textContent = view.title;
  $("view-controls").replaceChildren(...(view.controls ? [view.controls(ctx)] : []));
  $("view-body").replaceChildren(el("p", { class: "loading" }, "Loading…"));
  refresh(true);
  clearInterval(timer);
  timer = params().get("refresh") === "off" ? null : setInterval(() => refresh(false), REFRESH_MS);
}

async function refresh(first) {
  const mine = ++generation;
  const view = currentView;
  const body = $("view-body");
  body.setAttribute("aria-busy", "true");
  let node;
  try {
    // The session first: a request refused for an ended session would
    // carry an HTTP Basic challenge, and the browser would prompt.
    if (!first && !(await call("/dashboard/session")).signed_in) return showSignIn("Your session has ended: sign in again.");
    node = await view.load(ctx);
  } catch (e) {
    node = errorBox(e);
  }
  if (mine !== generation || view !== currentView) return;
  body.replaceChildren(node);
  body.setAttribute("aria-busy", "false");
  body.dataset.loadedAt = new Date().toISOString();
  $("updated").textContent = `Updated ${new Date().toLocaleTimeString("en-GB")}`;
}

export function errorBox(e) {
  if (e instanceof ApiFailure && e.status === 404 && e.unavailable) {
    return el("div", { class: "notice", "data-state": "unavailable", role: "status" },
      el("strong", {}, "Not available on this server. "),
      `This view needs ${e.unavailable}, which this Trellis version does not serve yet.`);
  }
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
