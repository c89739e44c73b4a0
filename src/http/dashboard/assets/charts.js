// Hand-rendered SVG charts and the DOM helpers the views share. No library:
// a line chart, a bar list, a heatmap cell scale and an interval plot are
// a few dozen lines each and keep the page light.

const SVG = "http://www.w3.org/2000/svg";

// The Okabe-Ito palette: distinguishable with every common colour-vision
// deficiency.
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

// el("div", {class: "x"}, child, "text", ...): an HTML element.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c) node.append(c);
  return node;
}

// Number formats, shared with the browser test's expectations.
export const fmt = {
  int: (v) => (v === null || v === undefined ? "–" : Math.round(v).toLocaleString("en-US")),
  pct: (v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%"),
  num: (v, d = 1) => (v === null || v === undefined ? "–" : Number(v).toFixed(d)),
  money: (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })),
  pvalue: (v) => (v === null || v === undefined ? "–" : v < 0.0001 ? v.toExponential(1) : v.toFixed(4)),
  duration: (s) => {
    if (s === null || s === undefined) return "–";
    if (s < 3600) return (s / 60).toFixed(0) + " min";
    if (s < 86400 * 2) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(1) + " d";
  },
  date: (t) => (t ? t.slice(0, 10) : "–"),
};

// A compact sparkline of the values (nulls skipped).
export function sparkline(values, label) {
  const w = 120, h = 28;
  const pts = values.map((v, i) => [i, v]).filter(([, v]) => v !== null && v !== undefined);
  // Drawn from the left edge of its box, as the tile's text is.
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "xMinYMid meet", class: "spark", role: "img", "aria-label": label });
  if (pts.length < 2) return svg;
  const ys = pts.map(([, v]) => v);
  const lo = Math.min(...ys), hi = Math.max(...ys);
  const n = values.length - 1 || 1;
  const d = pts.map(([i, v], k) => `${k ? "L" : "M"}${((i / n) * (w - 4) + 2).toFixed(1)},${(h - 3 - ((v - lo) / (hi - lo || 1)) * (h - 6)).toFixed(1)}`).join("");
  svg.append(svgEl("path", { d, fill: "none", stroke: PALETTE[0], "stroke-width": 2 }));
  return svg;
}

// The width, in CSS pixels, a chart gets in the view: the SVG's viewBox
// takes it, so one unit is one pixel and the 11 px axis text stays 11 px
// on a phone instead of shrinking with a fixed-width drawing. (A chart is
// drawn before it is attached, so it measures the view's body.)
export function chartWidth(max = 760) {
  const body = document.getElementById("view-body");
  const w = body ? body.clientWidth : 0;
  return Math.round(Math.max(300, Math.min(max, w || max)));
}

// The round step (1, 2, 2.5 or 5 times a power of ten) nearest above `raw`.
function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  return p * [1, 2, 2.5, 5, 10].find((f) => f * p >= raw * (1 - 1e-9));
}

// A line chart: series = [{name, points: [[x (ms or number), y], ...]}].
// opts: {yFormat, xFormat, yMin, yMax, label, bars: bool, xTicks: [x...],
// xFromValues: bool (the x axis spans only points that have a value, for
// LTV days no cohort has reached yet)}. A series with a single value is a
// dot: a line needs two points.
export function lineChart(series, opts = {}) {
  const w = opts.width || chartWidth(), h = 240, m = { l: 56, r: 20, t: 12, b: 30 };
  const all = series.flatMap((s) => s.points.filter((p) => p[1] !== null && p[1] !== undefined));
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, width: w, class: "chart", role: "img", "aria-label": opts.label || "chart" });
  svg.append(svgEl("title", {}, document.createTextNode(opts.label || "chart")));
  if (!all.length) return svg;
  const xs = opts.xFromValues ? all.map((p) => p[0]) : series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  // Without a given top the axis ends on round values (12.50, not 12.38);
  // counts (the default format) step by whole numbers.
  let y0 = opts.yMin ?? Math.min(0, ...ys), y1 = opts.yMax ?? (Math.max(...ys) || 1);
  let step = (y1 - y0) / 4;
  if (opts.yMax === undefined) {
    step = niceStep((y1 - y0) / 4);
    if (!opts.yFormat) step = Math.max(1, step);
    if (opts.yMin === undefined) y0 = Math.floor(y0 / step) * step;
    y1 = y0 + Math.max(1, Math.ceil((y1 - y0) / step - 1e-9)) * step;
  }
  // A lone x value sits in the middle rather than on the left edge.
  const X = (x) => (x1 === x0 ? (m.l + w - m.r) / 2 : m.l + ((x - x0) / (x1 - x0)) * (w - m.l - m.r));
  const Y = (y) => h - m.b - ((y - y0) / (y1 - y0 || 1)) * (h - m.t - m.b);
  const yf = opts.yFormat || ((v) => fmt.num(v, 0));
  const xf = opts.xFormat || ((v) => new Date(v).toISOString().slice(5, 10));
  for (let i = 0, n = Math.round((y1 - y0) / step); i <= n; i++) {
    const v = y0 + step * i;
    svg.append(svgEl("line", { x1: m.l, x2: w - m.r, y1: Y(v), y2: Y(v), class: "grid" }));
    svg.append(svgEl("text", { x: m.l - 6, y: Y(v) + 4, "text-anchor": "end", class: "axis" }, document.createTextNode(yf(v))));
  }
  // Evenly spaced ticks (fewer on a narrow chart), or the given ones; a
  // tick too close to the one before is left out rather than overprinted.
  const room = Math.max(2, Math.floor((w - m.l - m.r) / 70) + 1);
  const n = Math.min(room, 6, new Set(xs).size);
  const ticks = opts.xTicks ? opts.xTicks.filter((v) => v >= x0 && v <= x1)
    : Array.from({ length: n }, (_, i) => x0 + ((x1 - x0) * i) / Math.max(1, n - 1));
  let lastEnd = -Infinity;
  for (const v of ticks) {
    const label = xf(v), half = (label.length * 6.5) / 2;
    if (X(v) - half < lastEnd + 4) continue;
    lastEnd = X(v) + half;
    svg.append(svgEl("text", { x: X(v), y: h - 10, "text-anchor": "middle", class: "axis" }, document.createTextNode(label)));
  }
  series.forEach((s, k) => {
    const colour = s.colour || PALETTE[k % PALETTE.length];
    const pts = s.points.filter((p) => p[1] !== null && p[1] !== undefined);
    if (opts.bars) {
      const bw = Math.max(1, ((w - m.l - m.r) / Math.max(1, s.points.length)) * 0.8);
      for (const [x, y] of pts) {
        const r = svgEl("rect", { x: X(x) - bw / 2, y: Y(Math.max(y, 0)), width: bw, height: Math.abs(Y(y) - Y(0)), fill: colour });
        r.append(svgEl("title", {}, document.createTextNode(`${xf(x)}: ${yf(y)}`)));
        svg.append(r);
      }
      return;
    }
    if (pts.length >= 2) {
      const d = pts.map(([x, y], i) => `${i ? "L" : "M"}${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join("");
      svg.append(svgEl("path", { d, fill: "none", stroke: colour, "stroke-width": 2, "stroke-dasharray": k % 2 ? "6 3" : null }));
    }
    for (const [x, y] of pts.length <= 60 ? pts : []) {
      const c = svgEl("circle", { cx: X(x), cy: Y(y), r: pts.length === 1 ? 4 : 3, fill: colour });
      c.append(svgEl("title", {}, document.createTextNode(`${s.name} ${xf(x)}: ${yf(y)}`)));
      svg.append(c);
    }
  });
  return svg;
}

// A legend for series drawn in palette order.
export function legend(names) {
  return el("ul", { class: "legend" }, names.map((n, k) =>
    el("li", {}, el("span", { class: `swatch c${k % PALETTE.length}` }), n)));
}

// Horizontal bars: rows = [{label, value (0..1 or count), text}].
export function barList(rows, max) {
  const top = max ?? Math.max(1, ...rows.map((r) => r.value || 0));
  return el("div", { class: "bars" }, rows.map((r, k) => {
    const bar = el("span", { class: `bar c${(r.colour ?? 0) % PALETTE.length}` });
    bar.style.width = `${Math.max(0, Math.min(100, ((r.value || 0) / top) * 100))}%`;
    return el("div", { class: "bar-row", "data-key": r.key ?? k },
      el("span", { class: "bar-label" }, r.label),
      el("span", { class: "bar-track" }, bar),
      el("span", { class: "bar-value" }, r.text));
  }));
}

// The background class of a heatmap cell for a rate in [0, 1] (10 steps
// of one hue, so the scale reads without colour vision too).
export function heatClass(rate) {
  if (rate === null || rate === undefined) return "heat-none";
  return `heat-${Math.max(0, Math.min(9, Math.floor(rate * 10)))}`;
}

// An interval plot: rows = [{label, value, low, high}] on a shared axis.
export function intervalPlot(rows, opts = {}) {
  const w = opts.width || chartWidth(), rh = 34, m = { l: w < 480 ? 84 : 110, r: 20, t: 10, b: 26 };
  const h = m.t + m.b + rows.length * rh;
  const vals = rows.flatMap((r) => [r.value, r.low, r.high]).filter((v) => v !== null && v !== undefined);
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, width: w, class: "chart", role: "img", "aria-label": opts.label || "intervals" });
  if (!vals.length) return svg;
  let lo = Math.min(...vals), hi = Math.max(...vals);
  const pad = (hi - lo) * 0.1 || 0.05;
  lo -= pad; hi += pad;
  const X = (v) => m.l + ((v - lo) / (hi - lo)) * (w - m.l - m.r);
  const f = opts.format || ((v) => fmt.num(v, 3));
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    svg.append(svgEl("line", { x1: X(v), x2: X(v), y1: m.t, y2: h - m.b, class: "grid" }));
    svg.append(svgEl("text", { x: X(v), y: h - 8, "text-anchor": "middle", class: "axis" }, document.createTextNode(f(v))));
  }
  rows.forEach((r, k) => {
    const y = m.t + k * rh + rh / 2;
    const colour = PALETTE[k % PALETTE.length];
    svg.append(svgEl("text", { x: m.l - 8, y: y + 4, "text-anchor": "end", class: "axis" }, document.createTextNode(r.label)));
    if (r.low !== null && r.low !== undefined) {
      svg.append(svgEl("line", { x1: X(r.low), x2: X(r.high), y1: y, y2: y, stroke: colour, "stroke-width": 3 }));
    }
    if (r.value !== null && r.value !== undefined) {
      const c = svgEl("circle", { cx: X(r.value), cy: y, r: 6, fill: colour });
      c.append(svgEl("title", {}, document.createTextNode(`${r.label}: ${f(r.value)} [${f(r.low)}, ${f(r.high)}]`)));
      svg.append(c);
    }
  });
  return svg;
}
