"use strict";
// Research across hospitals: federated learning tasks with each round's
// global model, its hash and the sites' evaluations (an accuracy curve),
// and research aggregates: the datasets, the queries the signed-in member
// may read with their releases (suppressed cells shown as such), and its
// budgets (GET /api/v1/fl/…, /api/v1/research/…).
let me = null;
const eps = micro => (micro / 1e6).toLocaleString(undefined, { maximumFractionDigits: 3 });
const pct = ppm => ppm == null ? "" : (ppm / 1e4).toFixed(1) + "%";

// roundScore is a round's mean evaluation over its contributors, weighted
// by holdout size.
function roundScore(r) {
  let n = 0, acc = 0, auc = 0;
  for (const e of r.evals || []) {
    if (!e.eval) continue;
    n += e.eval.holdout_size;
    acc += e.eval.accuracy_ppm * e.eval.holdout_size;
    auc += e.eval.auc_ppm * e.eval.holdout_size;
  }
  return n ? { acc: acc / n, auc: auc / n } : null;
}

// curve draws accuracy per round as an SVG line (no library).
function curve(points) {
  const box = document.getElementById("curve");
  box.replaceChildren();
  if (points.length < 2) { box.textContent = "Not enough rounds yet."; return; }
  const ns = "http://www.w3.org/2000/svg", w = 560, h = 220, left = 48, bottom = 30;
  const lo = Math.max(0, Math.floor(Math.min(...points.map(p => p.y)) / 50000) * 50000), hi = Math.min(1e6, lo + 400000);
  const x = i => left + i * (w - left - 16) / (points.length - 1);
  const y = v => (h - bottom) - (Math.min(v, hi) - lo) / (hi - lo) * (h - bottom - 12);
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Accuracy per round: " + points.map(p => `round ${p.x} ${pct(p.y)}`).join(", "));
  svg.classList.add("curve");
  const el = (name, attrs, text) => {
    const e = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    svg.append(e);
  };
  for (let v = lo; v <= hi; v += 100000) {
    el("line", { x1: left, x2: w - 16, y1: y(v), y2: y(v), stroke: "#dde" });
    el("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 12 }, pct(v));
  }
  points.forEach((p, i) => el("text", { x: x(i), y: h - bottom + 16, "text-anchor": "middle", "font-size": 12 }, p.x));
  el("polyline", { fill: "none", stroke: "#0b5563", "stroke-width": 2.5, points: points.map((p, i) => `${x(i)},${y(p.y)}`).join(" ") });
  box.append(svg);
}

async function tasks() {
  const who = await names();
  try {
    const rows = await getAll("/api/v1/fl/tasks");
    fill("#tasks", rows.map(t => {
      const b = button("Open", () => task(t.id, true), "secondary");
      b.setAttribute("aria-label", "Open task " + t.id);
      return [t.id, t.title, who[t.owner] || t.owner, t.status, t.status === "done" ? `${t.rounds} of ${t.rounds}` : `${t.round} of ${t.rounds}`, t.participants, b];
    }));
    document.getElementById("tasks-message").textContent = rows.length ? "" : "No model tasks yet.";
  } catch (e) {
    document.getElementById("tasks-message").textContent = "Cannot read the tasks: " + ((e.problem && e.problem.detail) || e.message);
  }
}

async function task(id, focus) {
  const who = await names();
  const base = "/api/v1/fl/tasks/" + encodeURIComponent(id);
  const [t, models, accounts] = await Promise.all([get(base), getAll(base + "/models"), getAll(base + "/accounts")]);
  document.getElementById("task").hidden = false;
  const title = document.getElementById("task-title");
  title.textContent = t.id + " — " + t.title;
  document.getElementById("task-summary").textContent = `Owner ${who[t.owner] || t.owner}; predicts ${t.label} from ${t.features.join(", ")}; ` +
    `${t.rounds} rounds of ${t.local_epochs} local epochs at learning rate ${t.learning_rate_micro / 1e6}; ` +
    (t.status === "done" ? "done." : `round ${t.round} open until block ${t.round_deadline_height}.`) + ` Latest model ${t.model_hash.slice(0, 16)}…`;
  const scored = models.filter(m => m.round > 0).map(m => ({ m, s: roundScore(m) }));
  fill("#rounds", scored.map(({ m, s }) => [m.round, m.contributors.map(c => who[c] || c).join(", ") || "none (carried over)", m.samples,
    s ? pct(s.acc) : "", s ? (s.auc / 1e6).toFixed(3) : "", m.hash.slice(0, 16) + "…"]));
  curve(scored.filter(x => x.s).map(({ m, s }) => ({ x: m.round, y: s.acc })));
  fill("#accounts", accounts.map(a => [who[a.site] || a.site, a.rounds, a.samples, a.last_eval ? a.last_eval.holdout_size + " patients" : "", a.last_eval ? pct(a.last_eval.accuracy_ppm) : "",
    a.last_eval ? (a.last_eval.auc_ppm / 1e6).toFixed(3) : ""]));
  if (focus) title.focus();
}

async function aggregates() {
  const who = await names();
  const datasets = await getAll("/api/v1/research/datasets");
  fill("#datasets", datasets.map(d => [d.id, d.title, d.custodians.map(c => who[c] || c).join(", "), eps(d.cap_micro_eps), eps(d.spent_micro_eps), d.queries]));
  try {
    const qs = await getAll("/api/v1/research/queries");
    fill("#queries", qs.map(q => {
      let release = "waiting for " + (q.groups.length ? "the custodians" : "") + ` (${q.answered.length} answered)`;
      if (q.release) {
        release = q.groups.map((g, i) => `${g}: ${q.release.cells[i] == null ? "<11 (suppressed)" : q.release.cells[i]}`).join("; ");
      }
      const c = q.cohort || {};
      const cohort = ["category", "region", "age_band", "period"].filter(d => c[d] && c[d].length).map(d => d.replace("_", " ") + ": " + c[d].join(", ")).join("; ") || "everyone";
      return [q.id, who[q.researcher] || q.researcher, q.dataset, cohort, q.group_by.replace("_", " "), eps(q.eps_micro), q.status, release];
    }));
    document.getElementById("queries-message").textContent = qs.length ? "" : "No query you may read.";
  } catch (e) {
    document.getElementById("queries-message").textContent = "Cannot read the queries: " + ((e.problem && e.problem.detail) || e.message);
  }
  const budgets = [];
  for (const d of datasets) {
    try {
      const b = await get("/api/v1/research/datasets/" + encodeURIComponent(d.id) + "/budgets/" + me.id);
      if (b.granted_micro_eps) budgets.push([d.id, eps(b.granted_micro_eps), eps(b.spent_micro_eps), eps(b.granted_micro_eps - b.spent_micro_eps)]);
    } catch (e) { /* not a party: no budget to show */ }
  }
  // A member with no budget (not a researcher) has no table to read.
  document.getElementById("budgets").hidden = !budgets.length;
  document.getElementById("budgets-title").textContent = budgets.length ? "Your budgets" : "Your budgets: none (budgets are granted to researchers by the regulator's approvals)";
  fill("#budgets", budgets);
}

signIn(async m => {
  me = m;
  document.getElementById("research").hidden = false;
  await Promise.all([tasks(), aggregates()]);
  if (location.hash.length > 1) await task(decodeURIComponent(location.hash.slice(1)), true);
});
