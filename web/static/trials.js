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
  document.getElementById("trial-flags").classList.toggle("clean", !t.flags.length);
  document.getElementById("trial-flags").textContent = t.flags.length
    ? t.flags.map(f => `⚑ ${flagWords[f.kind] || f.kind}` + (f.version ? ` (version ${f.version}, ${when(f.time)})` : ` (${when(f.time)})`) +
      (f.added ? "; added: " + f.added.join(", ") : "") + (f.dropped ? "; dropped: " + f.dropped.join(", ") : "") + (f.changed ? "; changed: " + f.changed.join(", ") : "")).join(" · ")
    : "No flags: no outcome was changed after enrolment began" + (t.results ? ", and every reported outcome was registered." : " (no results yet).");
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
// with the WHO Trial Registration Data Set's items, amend one of its own
// (the form filled from the current version), register its results
// against what it registered, and see its enrolments; each transaction is
// signed for it by the node (its token) or by this browser's key.
let sponsor = null, amending = null, reporting = null, uid = 0;
const $ = id => document.getElementById(id);
const lines = id => $(id).value.split("\n").map(s => s.trim()).filter(Boolean);
// problemText is a refusal in words: the ledger's detail (what was wrong
// and where), without its code.
const problemText = e => (e.problem && e.problem.detail) || e.message;
// say puts a result under a form, as an error or not.
function say(id, text, error) {
  const p = $(id);
  p.textContent = text;
  p.classList.toggle("error", !!error);
}

// field makes a labelled input (or textarea, or select) for a row of a
// list, with an id of its own.
function field(parent, label, opts) {
  const id = "f" + (++uid);
  const l = document.createElement("label");
  l.htmlFor = id;
  l.textContent = label;
  const el = document.createElement(opts.tag || "input");
  el.id = id;
  el.dataset.f = opts.name;
  if (opts.tag === "textarea") el.rows = 2;
  for (const [k, v] of Object.entries(opts.attrs || {})) el.setAttribute(k, v);
  if (opts.value != null) el.value = opts.value;
  if (opts.options) for (const [v, t] of opts.options) el.append(new Option(t, v));
  parent.append(l, el);
  return el;
}
const valueOf = (fs, name) => { const el = fs.querySelector(`[data-f="${name}"]`); return el ? el.value.trim() : ""; };

// An outcome's row: its short id, measure and time frame, and a button
// that takes it out.
function outcomeRow(list, kind, o) {
  const fs = document.createElement("fieldset");
  fs.className = "review-line";
  fs.append(document.createElement("legend"));
  field(fs, "Short id (the results refer to it)", { name: "id", value: o && o.id, attrs: { required: "", pattern: "[a-z0-9\\-]{1,32}", title: "1 to 32 of a-z, 0-9 and -", spellcheck: "false", autocomplete: "off" } });
  field(fs, "Measure", { name: "measure", value: o && o.measure, attrs: { required: "", maxlength: "300" } });
  field(fs, "Time frame", { name: "time_frame", value: o && (o.time_frame || o.timeFrame), attrs: { required: "", maxlength: "300" } });
  const remove = button("Remove", () => { fs.remove(); renumber(list, kind); }, "secondary");
  remove.type = "button";
  fs.append(remove);
  $(list).append(fs);
  renumber(list, kind);
  return fs;
}
function renumber(list, kind) {
  [...$(list).children].forEach((fs, i) => {
    fs.querySelector("legend").textContent = `${kind} outcome ${i + 1}`;
    fs.querySelector("button").setAttribute("aria-label", `Remove ${kind.toLowerCase()} outcome ${i + 1}`);
  });
}
const outcomesOf = list => [...$(list).children].map(fs => ({ id: valueOf(fs, "id"), measure: valueOf(fs, "measure"), time_frame: valueOf(fs, "time_frame") }));

// The member organisations that may be sites, as checkboxes.
async function siteBoxes(chosen) {
  const enrolling = ["hospital", "clinic", "research", "lab"];
  const orgs = (await getAll("/api/v1/identities?kind=organisation")).filter(i => i.status === "active" && (enrolling.includes(i.org_type) || chosen.includes(i.id)));
  // A current site that is no longer an active member keeps its box,
  // unticked and said so: the ledger takes only active members, and an
  // amendment must not drop a site unseen.
  for (const id of chosen) {
    if (!orgs.some(o => o.id === id)) orgs.push({ id, name: ((await names())[id] || id) + " — no longer an active member: it leaves the sites" });
  }
  const box = $("p-sites");
  box.querySelectorAll("label").forEach(l => l.remove());
  for (const o of orgs) {
    const l = document.createElement("label");
    l.className = "inline";
    const c = document.createElement("input");
    c.type = "checkbox";
    c.value = o.id;
    c.checked = chosen.includes(o.id) && !o.name.includes("no longer an active member");
    l.append(c, " " + (o.name || o.id) + (o.org_type ? ` (${o.org_type})` : ""));
    box.append(l);
  }
}

function editProtocol(t) {
  amending = t;
  $("results-form").hidden = true;
  $("protocol-form").hidden = false;
  const p = t ? t.protocol : { conditions: [], interventions: [], primary_outcomes: [{}], secondary_outcomes: [], sites: [] };
  $("protocol-title").textContent = t ? "Amend " + t.id + " (now version " + t.version + ")" : "Register a trial";
  $("protocol-button").textContent = t ? "Save as version " + (t.version + 1) : "Register";
  $("trial-id").value = t ? t.id : "";
  $("trial-id").readOnly = !!t;
  $("reason-row").hidden = !t;
  $("amend-reason").required = !!t;
  $("amend-reason").value = "";
  $("p-title").value = p.title || "";
  $("p-conditions").value = p.conditions.join("\n");
  $("p-interventions").value = p.interventions.join("\n");
  $("p-inclusion").value = p.inclusion || "";
  $("p-exclusion").value = p.exclusion || "";
  $("p-sample").value = p.sample_size || "";
  $("p-primary").replaceChildren();
  $("p-secondary").replaceChildren();
  p.primary_outcomes.forEach(o => outcomeRow("p-primary", "Primary", o));
  (p.secondary_outcomes || []).forEach(o => outcomeRow("p-secondary", "Secondary", o));
  $("p-document").value = "";
  $("p-commitment").value = p.protocol_commitment || "";
  $("p-salt").textContent = t ? "The commitment stays as it is unless you choose a new version of the document." : "";
  return siteBoxes(p.sites);
}
function readProtocol() {
  return {
    title: $("p-title").value.trim(), conditions: lines("p-conditions"), interventions: lines("p-interventions"),
    inclusion: $("p-inclusion").value.trim(), exclusion: $("p-exclusion").value.trim(), sample_size: Number($("p-sample").value),
    primary_outcomes: outcomesOf("p-primary"), secondary_outcomes: outcomesOf("p-secondary"),
    sites: [...$("p-sites").querySelectorAll("input:checked")].map(c => c.value), protocol_commitment: $("p-commitment").value.trim(),
  };
}

// commit computes a document's commitment here, HMAC-SHA256 under a new
// random salt: the document stays in this browser, the salt is offered to
// keep with it (with both, anyone can check the commitment on the ledger).
// WebCrypto needs a secure context (https, or this machine).
async function commit(file, out, status, name) {
  if (!file) return;
  if (!window.crypto || !crypto.subtle) {
    status.textContent = "This page computes commitments only over https or on this machine. Compute it with: openssl rand -hex 32 > salt; openssl dgst -sha256 -mac HMAC -macopt hexkey:$(cat salt) FILE";
    return;
  }
  const submit = out.form.querySelector('button[type="submit"]');
  submit.disabled = true;
  status.textContent = "Computing the commitment…";
  try {
    await commitInto(file, out, status, name);
  } finally {
    submit.disabled = false;
  }
}
async function commitInto(file, out, status, name) {
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const key = await crypto.subtle.importKey("raw", salt, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, await file.arrayBuffer()));
  const hexOf = b => [...b].map(x => x.toString(16).padStart(2, "0")).join("");
  out.value = hexOf(mac);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([`${file.name}\nHMAC-SHA256 salt (hex): ${hexOf(salt)}\ncommitment: ${hexOf(mac)}\n`], { type: "text/plain" }));
  a.download = name + "-salt.txt";
  a.textContent = "save the salt";
  status.replaceChildren(`Committed to ${file.name}. Keep the document unchanged and `, a, " with it: the salt is not kept anywhere else.");
}
$("p-document").addEventListener("change", ev => commit(ev.target.files[0], $("p-commitment"), $("p-salt"), $("trial-id").value.trim() || "protocol")
  .catch(e => { $("p-salt").textContent = "Cannot compute the commitment: " + e.message; }));
$("add-primary").addEventListener("click", () => outcomeRow("p-primary", "Primary").querySelector("input").focus());
$("add-secondary").addEventListener("click", () => outcomeRow("p-secondary", "Secondary").querySelector("input").focus());

async function mine() {
  const rows = await getAll("/api/v1/trials");
  const own = rows.filter(t => t.sponsor === sponsor.id);
  const p = $("my-trials");
  p.replaceChildren(own.length ? "Your trials: " : "You sponsor no trial yet. ");
  for (const t of own) {
    const open = async () => get("/api/v1/trials/" + encodeURIComponent(t.id));
    if (t.status === "recruiting") {
      p.append(button("Amend " + t.id, async () => { await editProtocol(await open()); $("protocol-title").focus(); }, "secondary"), " ",
        button("Results of " + t.id, async () => editResults(await open()), "secondary"), " ");
    }
    p.append(button("Enrolments of " + t.id, () => enrolments(t.id), "secondary"), " ");
  }
  p.append(button("Register a new trial", async () => { await editProtocol(null); $("protocol-title").focus(); }, "secondary"));
}

$("protocol-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const protocol = readProtocol();
  if (!protocol.primary_outcomes.length) { say("protocol-result", "Register at least one primary outcome.", true); $("add-primary").focus(); return; }
  if (!protocol.sites.length) { say("protocol-result", "Tick at least one site: the organisations that enrol.", true); $("p-sites").querySelector("input").focus(); return; }
  const id = $("trial-id").value.trim();
  const wasAmending = !!amending;
  say("protocol-result", wasAmending ? "Amending…" : "Registering…");
  try {
    const res = wasAmending
      ? await act("trials.amend", { id, reason: $("amend-reason").value.trim(), protocol })
      : await act("trials.register", { id, protocol });
    await Promise.all([list(), mine(), show(id, false)]);
    // An amendment stays on its trial; a registration leaves an empty
    // form for the next one.
    await editProtocol(wasAmending ? await get("/api/v1/trials/" + encodeURIComponent(id)) : null);
    say("protocol-result", (wasAmending ? `${id} amended` : `${id} registered`) + ` (block ${res.height}).` +
      (wasAmending ? "" : ` To amend it, choose "Amend ${id}" above.`));
  } catch (e) {
    say("protocol-result", "Not saved: " + problemText(e), true);
  }
});

// The results form: each registered outcome reported (a summary and the
// commitment to its analysis), declared not reported (a reason), or left
// out (it counts as missing); outcomes never registered, added.
function editResults(t) {
  reporting = t;
  $("protocol-form").hidden = true;
  $("results-form").hidden = false;
  $("results-title").textContent = `Register results of ${t.id} (version ${t.version})`;
  $("results-result").textContent = "";
  const box = $("results-outcomes");
  box.replaceChildren();
  const all = [...t.protocol.primary_outcomes.map(o => [o, "primary"]), ...(t.protocol.secondary_outcomes || []).map(o => [o, "secondary"])];
  for (const [o, kind] of all) {
    const fs = document.createElement("fieldset");
    fs.className = "review-line";
    fs.dataset.id = o.id;
    const lg = document.createElement("legend");
    lg.textContent = `${o.id} (${kind}): ${o.measure}, ${o.time_frame}`;
    fs.append(lg);
    const how = field(fs, "Outcome", { tag: "select", name: "how", options: [["reported", "Reported"], ["not", "Not reported: give the reason"], ["", "Left out (counts as missing)"]] });
    const rep = document.createElement("div"), not = document.createElement("div");
    field(rep, "Result summary", { tag: "textarea", name: "summary", attrs: { maxlength: "1000" } });
    const doc = field(rep, "Analysis (it stays here: only its salted commitment goes on the ledger)", { name: "doc", attrs: { type: "file" } });
    const c = field(rep, "Commitment to the analysis (64 hex)", { name: "commitment", attrs: { pattern: "[0-9a-f]{64}", spellcheck: "false", autocomplete: "off" } });
    const st = document.createElement("p");
    st.className = "muted";
    st.setAttribute("role", "status");
    rep.append(st);
    doc.addEventListener("change", () => commit(doc.files[0], c, st, `${t.id}-${o.id}-analysis`).catch(e => { st.textContent = "Cannot compute the commitment: " + e.message; }));
    field(not, "Why it is not reported", { name: "reason", attrs: { maxlength: "300" } });
    fs.append(rep, not);
    // Only what is shown is required: the browser names what is missing.
    const sync = () => {
      rep.hidden = how.value !== "reported";
      not.hidden = how.value !== "not";
      for (const el of rep.querySelectorAll('[data-f="summary"], [data-f="commitment"]')) el.required = !rep.hidden;
      not.querySelector('[data-f="reason"]').required = !not.hidden;
    };
    how.addEventListener("change", sync);
    sync();
    box.append(fs);
  }
  $("results-added").replaceChildren();
  $("results-title").focus();
}
function addedRow() {
  const fs = document.createElement("fieldset");
  fs.className = "review-line";
  fs.append(document.createElement("legend"));
  field(fs, "Short id (not one registered)", { name: "id", attrs: { required: "", pattern: "[a-z0-9\\-]{1,32}", spellcheck: "false", autocomplete: "off" } });
  field(fs, "Measure", { name: "measure", attrs: { required: "", maxlength: "300" } });
  field(fs, "Result summary", { tag: "textarea", name: "summary", attrs: { required: "", maxlength: "1000" } });
  const remove = button("Remove", () => { fs.remove(); renumberAdded(); }, "secondary");
  remove.type = "button";
  fs.append(remove);
  $("results-added").append(fs);
  renumberAdded();
  return fs;
}
function renumberAdded() {
  [...$("results-added").children].forEach((fs, i) => {
    fs.querySelector("legend").textContent = `Added outcome ${i + 1} (the ledger flags it)`;
    fs.querySelector("button").setAttribute("aria-label", `Remove added outcome ${i + 1}`);
  });
}
$("add-added").addEventListener("click", () => addedRow().querySelector("input").focus());
$("results-cancel").addEventListener("click", () => { $("results-form").hidden = true; $("protocol-form").hidden = false; });
$("results-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const out = $("results-result");
  const results = { reported: [], not_reported: [], added: [] };
  for (const fs of $("results-outcomes").children) {
    const how = valueOf(fs, "how");
    if (how === "reported") results.reported.push({ id: fs.dataset.id, summary: valueOf(fs, "summary"), analysis_commitment: valueOf(fs, "commitment") });
    if (how === "not") results.not_reported.push({ id: fs.dataset.id, reason: valueOf(fs, "reason") });
  }
  for (const fs of $("results-added").children) {
    results.added.push({ id: valueOf(fs, "id"), measure: valueOf(fs, "measure"), summary: valueOf(fs, "summary") });
  }
  say("results-result", "Registering the results…");
  try {
    const id = reporting.id;
    const res = await act("trials.results", { trial: id, results });
    await Promise.all([list(), mine(), show(id, false)]);
    // The trial is closed now: back to an empty registration form.
    await editProtocol(null);
    say("protocol-result", `Results of ${id} registered (block ${res.height}): the trial is closed, and the registry shows its reporting score.`);
    $("my-trials").querySelector("button").focus();
  } catch (e) {
    say("results-result", "Not registered: " + problemText(e), true);
  }
});

// A trial's enrolments, as the signed-in member may read them.
async function enrolments(id) {
  const sec = $("enrolments");
  sec.hidden = false;
  $("enrolments-title").textContent = "Enrolments of " + id;
  try {
    const [who, rows] = await Promise.all([names(), getAll("/api/v1/trials/" + encodeURIComponent(id) + "/participants")]);
    fill("#enrolment-table", rows.map(p => [p.participant, who[p.site] || p.site, p.status, when(p.enrolled), when(p.withdrawn)]));
    if (!rows.length) fill("#enrolment-table", [["none yet", "", "", "", ""]]);
  } catch (e) {
    fill("#enrolment-table", [["Cannot read them: " + problemText(e), "", "", "", ""]]);
  }
  $("enrolments-title").focus();
  $("enrolments-title").scrollIntoView({ block: "start" });
}

signIn(async me => {
  sponsor = me;
  $("sponsor").open = true;
  await editProtocol(null);
  await mine();
  $("my-trials").querySelector("button").focus();
});

document.getElementById("flagged-only").addEventListener("change", list);
list();
setInterval(list, 10000);
if (location.hash.length > 1) show(decodeURIComponent(location.hash.slice(1)), true).catch(e => {
  document.getElementById("list-message").textContent = "Cannot open that trial: " + e.message;
});
