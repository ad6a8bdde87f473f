"use strict";
// The clinical trial registry (public): every trial with its status,
// version, enrolment, the ledger's flags and its reporting score; a trial's
// page shows its protocol as it stands, the flags with the version and time
// that raised them, its results against what was registered, and every
// version with what changed (GET /api/v1/trials, /trials/{id},
// /trials/{id}/history). Signed in, a sponsor registers and amends its
// trials.
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

// The sponsor's view: signed in as a member organisation, register a trial
// or amend one of its own (the protocol as JSON, prefilled from the current
// version), each signed for it by the node (its token).
let sponsor = null, amending = null;
const template = () => ({
  title: "", conditions: [""], interventions: [""], inclusion: "", exclusion: "", sample_size: 100,
  primary_outcomes: [{ id: "primary", measure: "", time_frame: "" }], secondary_outcomes: [],
  sites: [sponsor ? sponsor.id : ""], protocol_commitment: "(64 hex: HMAC-SHA256 of your protocol document under a salt you keep)",
});
function editProtocol(t) {
  amending = t;
  document.getElementById("protocol-title").textContent = t ? "Amend " + t.id + " (now version " + t.version + ")" : "Register a trial";
  document.getElementById("protocol-button").textContent = t ? "Save as version " + (t.version + 1) : "Register";
  document.getElementById("trial-id").value = t ? t.id : "";
  document.getElementById("trial-id").readOnly = !!t;
  document.getElementById("amend-reason").required = !!t;
  document.getElementById("protocol-json").value = JSON.stringify(t ? t.protocol : template(), null, 2);
}
async function mine() {
  const rows = await getAll("/api/v1/trials");
  const own = rows.filter(t => t.sponsor === sponsor.id && t.status === "recruiting");
  const p = document.getElementById("my-trials");
  p.replaceChildren(own.length ? "Your trials still recruiting: " : "You sponsor no trial still recruiting. ");
  for (const t of own) {
    const b = button("Amend " + t.id, async () => editProtocol(await get("/api/v1/trials/" + encodeURIComponent(t.id))), "secondary");
    p.append(b, " ");
  }
  p.append(button("Register a new trial", () => editProtocol(null), "secondary"));
}
document.getElementById("protocol-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const out = document.getElementById("protocol-result");
  let protocol;
  try { protocol = JSON.parse(document.getElementById("protocol-json").value); } catch (e) {
    out.textContent = "The protocol is not JSON: " + e.message;
    return;
  }
  const id = document.getElementById("trial-id").value.trim();
  out.textContent = amending ? "Amending…" : "Registering…";
  try {
    const res = amending
      ? await act("trials.amend", { id, reason: document.getElementById("amend-reason").value.trim(), protocol })
      : await act("trials.register", { id, protocol });
    out.textContent = (amending ? `${id} amended` : `${id} registered`) + ` (block ${res.height}).`;
    await Promise.all([list(), mine(), show(id, false)]);
    editProtocol(await get("/api/v1/trials/" + encodeURIComponent(id)));
  } catch (e) {
    out.textContent = "Not saved: " + e.message + (e.problem && e.problem.detail ? " — " + e.problem.detail : "");
  }
});
signIn(async me => {
  sponsor = me;
  document.getElementById("sponsor").open = true;
  editProtocol(null);
  await mine();
});

document.getElementById("flagged-only").addEventListener("change", list);
list();
setInterval(list, 10000);
if (location.hash.length > 1) show(decodeURIComponent(location.hash.slice(1)), true).catch(e => {
  document.getElementById("list-message").textContent = "Cannot open that trial: " + e.message;
});
