"use strict";
// The clinical trial registry (public): every trial with its status,
// version, enrolment, the ledger's flags and its reporting score; a trial's
// page shows its protocol as it stands, the flags with the version and time
// that raised them, its results against what was registered, and every
// version with what changed (GET /api/v1/trials, /trials/{id},
// /trials/{id}/history).
const flagWords = {
  primary_outcome_switched: "Primary outcome switched after enrolment began",
  outcome_added_in_results: "Outcome reported that was never registered",
};
function scoreWords(s) {
  if (!s) return "no results yet";
  return `${s.reported} of ${s.registered} registered outcomes reported` + (s.not_reported_with_reason ? `, ${s.not_reported_with_reason} declared not reported` : "") +
    (s.missing ? `, ${s.missing} missing` : "") + (s.added ? `, ${s.added} added` : "") + (s.primary_switched ? "; primary outcome switched" : "");
}

async function list() {
  const who = await names();
  const flagged = document.getElementById("flagged-only").checked;
  try {
    const rows = await getAll("/api/v1/trials" + (flagged ? "?flagged=true" : ""));
    fill("#trials", rows.map(t => {
      const b = button("Open", () => show(t.id, true), "secondary");
      b.setAttribute("aria-label", "Open trial " + t.id);
      return [t.id, t.title, who[t.sponsor] || t.sponsor, t.status, t.version, t.enrolled,
        { text: t.flags ? t.flags + " flag" + (t.flags > 1 ? "s" : "") : "none", cls: t.flags ? "status-revoked" : "" }, scoreWords(t.score), b];
    }), i => rows[i].flags ? "flagged" : "");
    document.getElementById("list-message").textContent = rows.length ? "" : "No trials registered yet.";
  } catch (e) {
    document.getElementById("list-message").textContent = "Cannot read the registry: " + e.message;
  }
}

async function show(id, focus) {
  const who = await names();
  const t = await get("/api/v1/trials/" + encodeURIComponent(id));
  const versions = await getAll("/api/v1/trials/" + encodeURIComponent(id) + "/history");
  document.getElementById("trial").hidden = false;
  const title = document.getElementById("trial-title");
  title.textContent = t.id + " — " + t.protocol.title;
  history.replaceState(null, "", "#" + encodeURIComponent(t.id));
  document.getElementById("trial-flags").textContent = t.flags.length
    ? t.flags.map(f => `⚑ ${flagWords[f.kind] || f.kind}` + (f.version ? ` (version ${f.version}, ${when(f.time)})` : ` (${when(f.time)})`) +
      (f.added ? "; added: " + f.added.join(", ") : "") + (f.dropped ? "; dropped: " + f.dropped.join(", ") : "") + (f.changed ? "; changed: " + f.changed.join(", ") : "")).join(" · ")
    : "No flags: the protocol's outcomes were not changed after enrolment, and every reported outcome was registered.";
  const dl = document.getElementById("trial-fields");
  dl.replaceChildren();
  const p = t.protocol;
  for (const [k, v] of [["Sponsor", who[t.sponsor] || t.sponsor], ["Status", t.status], ["Registered", when(t.registered)], ["Version", `${t.version} (last change ${when(t.updated)})`],
    ["Conditions", p.conditions.join("; ")], ["Interventions", p.interventions.join("; ")], ["Inclusion", p.inclusion], ["Exclusion", p.exclusion],
    ["Target sample size", p.sample_size], ["Enrolled", `${t.enrolled} now, ${t.ever_enrolled} in all, ${t.withdrawn} withdrawn` + (t.first_enrolment ? ` (first ${when(t.first_enrolment)})` : "")],
    ["Sites", p.sites.map(s => who[s] || s).join(", ")], ["Data anchored", (t.batches || 0) + " batch" + (t.batches === 1 ? "" : "es") + " of case-report records (primum trials batches " + t.id + ")"], ["Protocol document", "committed: " + p.protocol_commitment.slice(0, 16) + "…"]]) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = k; dd.textContent = String(v);
    dl.append(dt, dd);
  }
  const res = t.results || {};
  const resultOf = id => {
    const r = (res.reported || []).find(r => r.id === id);
    if (r) return { text: r.summary, cls: "status-active" };
    const n = (res.not_reported || []).find(r => r.id === id);
    if (n) return { text: "not reported: " + n.reason, cls: "status-open" };
    return t.results ? { text: "missing from the results", cls: "status-revoked" } : "";
  };
  fill("#outcomes", [
    ...p.primary_outcomes.map(o => [o.id, "primary", o.measure, o.time_frame, resultOf(o.id)]),
    ...(p.secondary_outcomes || []).map(o => [o.id, "secondary", o.measure, o.time_frame, resultOf(o.id)]),
    ...(res.added || []).map(o => [o.id, { text: "added in the results", cls: "status-revoked" }, o.measure, "", o.summary]),
  ]);
  document.getElementById("trial-score").textContent = t.score ? scoreWords(t.score) + ` (results registered ${when(res.time)}).` : "No results registered yet.";
  fill("#history", versions.map(v => [v.version, when(v.time), v.reason || "", (v.flagged ? "⚑ " : "") + v.changes.join("; ")]),
    i => versions[i].flagged ? "flagged" : "");
  if (focus) title.focus();
}

document.getElementById("flagged-only").addEventListener("change", list);
list();
setInterval(list, 10000);
if (location.hash.length > 1) show(decodeURIComponent(location.hash.slice(1)), true).catch(e => {
  document.getElementById("list-message").textContent = "Cannot open that trial: " + e.message;
});
