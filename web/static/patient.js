"use strict";
let me = null;
// mine are the patient's pseudonyms: { id, key, custodian }, their key's
// own first (key undefined: the signed-in key, or the token's), then one
// per institution they enrolled at from this key (myKey.derive). Every
// read and every transaction about a pseudonym is signed by its own key.
let mine = [];
let showScopes = async () => {}; // set once the grant form is wired
// each reads a listing for every pseudonym and merges the lists.
const each = async path => (await Promise.all(mine.map(p => getAll(path(p.id), p.key)))).flat();
const keyOf = id => (mine.find(p => p.id === id) || {}).key;
// custodians are the organisation types that hold records (records.CustodianTypes):
// where a patient may hold a pseudonym.
const custodians = ["hospital", "clinic", "lab", "pharmacy", "research", "insurer"];
const mustChoose = "Choose under Scope what the consent covers.";
// yours names one of the patient's own pseudonyms as they read it.
const yours = (id, who) => {
  const p = mine.find(p => p.id === id);
  if (!p) return null;
  return mine.length < 2 ? "you" : p.custodian ? "you (at " + (who[p.custodian] || p.custodian) + ")" : "you (your key's own number)";
};

// findPseudonyms asks about the pseudonyms at the institutions this
// browser's key lists (a key file's list, and where the patient enrolled
// here), each signed by its own key: asking about an institution shows the
// node its key, so it asks about no other. search asks about every one (a
// key from a backup that lists none), and lists those it finds. A search
// that fails part way throws: an erasure must miss none, and a search
// must not forget the numbers already listed.
async function findPseudonyms(search) {
  const found = [{ id: me.id, key: undefined, custodian: "" }];
  if (!withKey()) return found;
  const note = document.getElementById("enrol-message");
  try {
    const chain = (await keyInfo()).chain_id;
    const orgs = search ? (await get("/api/v1/identities?kind=organisation")).map(o => o.id) : myKey.current.pseudonyms || [];
    for (const org of orgs) {
      const k = await myKey.derive(chain, org);
      const info = await keyInfo(k);
      if (info.identity && info.identity.kind === "patient") {
        found.push({ id: info.identity.id, key: k, custodian: org });
        if (search) await myKey.remember(org);
      }
    }
  } catch (e) {
    if (search) throw e;
    note.textContent = "Your numbers at other institutions could not be read: " + e.message;
  }
  return found;
}

async function showPseudonyms() {
  const who = await names();
  fill("#pseudonyms", mine.map(p => [p.custodian ? who[p.custodian] || p.custodian : "your key's own number (the institution where you first enrolled knows it)", { text: p.id, cls: "mono" }]));
}

// The grounds GDPR Art. 17(3) gives an institution to keep a record.
const bases = {
  legal_obligation: "a legal obligation (GDPR Art. 17(3)(b))",
  public_health: "public health (Art. 17(3)(c))",
  archiving_research: "archiving or research (Art. 17(3)(d))",
  legal_claims: "legal claims (Art. 17(3)(e))",
};

async function refresh() {
  const who = await names();
  await showPseudonyms();
  recordsHeld = await each(id => `/api/v1/patients/${id}/records`);
  showRecords(who);
  await showErasure(who);
  const consents = await each(id => `/api/v1/patients/${id}/consents`);
  const live = c => c.status === "active" && new Date(c.expires) > new Date();
  consents.sort((a, b) => (live(b) - live(a)) || (a.granted < b.granted ? 1 : a.granted > b.granted ? -1 : 0));
  fill("#consents", consents.map(c => {
    const scope = c.scope.all ? "all records" : c.scope.studies ? "research study " + c.scope.studies.join(", ")
      : (c.scope.categories || []).map(k => kindOf(k).toLowerCase()).join(", ") || (c.scope.records || []).length + " record(s)";
    const active = c.status === "active" && new Date(c.expires) > new Date();
    return [(who[c.grantee] || c.grantee) + (mine.length > 1 ? " — from " + yours(c.patient, who) : ""), c.purpose, scope, when(c.expires), { text: active ? "active" : c.status === "active" ? "expired" : c.status, cls: "status-" + (active ? "active" : "revoked") },
      active ? button("Revoke", () => revoke(c.id, c.patient), "revoke") : ""];
  }));
  const all = await each(id => `/api/v1/patients/${id}/access`);
  all.sort((a, b) => a.time < b.time ? 1 : a.time > b.time ? -1 : 0); // newest first
  // The patient's own reads are hidden unless asked for: the trail is for
  // what others did.
  const own = a => a.purpose === "patient" && mine.some(p => p.id === a.requester);
  const showOwn = document.getElementById("show-own").checked;
  const trail = showOwn ? all : all.filter(a => !own(a));
  const owned = all.length - all.filter(a => !own(a)).length;
  document.getElementById("own-count").textContent = owned && !showOwn ? `(${owned} of your own reads hidden)` : "";
  const recordWords = id => {
    const r = recordsHeld.find(r => r.id === id);
    return !r ? "a record" : read[id] ? read[id].title : "your " + kindOf(r.category).toLowerCase() + " record of " + when(r.registered);
  };
  // A study's use (records.use) names no record: the patient's records
  // there contributed to the study, computed at their custodian.
  fill("#trail", trail.map(a => [when(a.time), yours(a.requester, who) || who[a.requester] || a.requester, a.study ? "your records there" : recordWords(a.record), a.purpose.replaceAll("_", " "),
    a.study ? { text: "used in " + studyWords(a.study), cls: "status-active" } :
    { text: a.outcome + (a.refusal ? " (" + a.refusal.replaceAll("_", " ") + ")" : ""), cls: a.outcome === "granted" ? "status-active" : "status-revoked" },
    a.emergency ? "EMERGENCY: " + a.emergency_reason.replaceAll("_", " ") : ""]), i => trail[i].emergency ? "emergency" : "");
  inbox(all.filter(a => !own(a)), consents, recordWords, who);
  await showClaims(who);
}

// studyWords names a study a trail entry names: fl:<task> or
// research:<project>.
function studyWords(study) {
  const [kind, id] = study.includes(":") ? study.split(":", 2) : ["", study];
  return kind === "fl" ? "the learning task " + id : kind === "research" ? "the research project " + id : "the study " + study;
}

// showClaims lists the patient's claims under every pseudonym, newest
// first, with what each insurer pays and what the patient owes; a claim
// opens as its explanation of benefits, line by line with the reasons.
let eobClaim = null;
async function showClaims(who) {
  const rows = await each(id => `/api/v1/patients/${id}/claims`);
  rows.sort((a, b) => a.service_date < b.service_date ? 1 : a.service_date > b.service_date ? -1 : 0);
  fill("#my-claims", rows.map(c => {
    const b = button("Details", () => showEOB(c.id, c.patient, who), "secondary");
    b.setAttribute("aria-label", "Details of the claim of " + c.service_date + " by " + (who[c.provider] || c.provider));
    const open = c.status === "pended" || c.status === "appealed";
    return [c.service_date, who[c.provider] || c.provider, who[c.insurer] || c.insurer, { text: statusWords[c.status] || c.status, cls: statusCls(c.status) },
      money(c.charge), open ? "not decided yet" : money(c.payer), open ? "not decided yet" : money(c.patient_share), b];
  }));
}
async function showEOB(id, patient, who) {
  const c = await api("/api/v1/claims/" + encodeURIComponent(id), { key: keyOf(patient) });
  eobClaim = c;
  document.getElementById("eob").hidden = false;
  const title = document.getElementById("eob-title");
  title.textContent = `${who[c.provider] || c.provider}, ${c.service_date} — ${statusWords[c.status] || c.status}`;
  const services = await Promise.all(c.lines.map(l => codeName(l.code)));
  fill("#eob-lines", c.lines.map((l, i) => [services[i] === l.code ? l.code : services[i], money(l.charge),
    { text: l.outcome === "covered" ? "covered" : l.outcome === "denied" ? "not covered" : "being reviewed", cls: l.outcome === "covered" ? "status-active" : l.outcome === "denied" ? "status-revoked" : "status-open" },
    patientReasons(l.reasons), money(l.payer), l.outcome === "pended" ? "not decided yet" : money(l.patient_share)]));
  const insurer = who[c.insurer] || c.insurer;
  const paid = c.status === "paid" ? ` ${insurer} paid ${money(c.paid)} on ${c.steps[c.steps.length - 1].time.slice(0, 10)} (reference ${c.remittance}).` : "";
  const open = c.status === "pended" || c.status === "appealed";
  document.getElementById("eob-summary").textContent = open
    ? `Billed ${money(c.charge)}. ${insurer} has not decided every service yet: what you owe is known once it has.`
    : `Billed ${money(c.charge)}. ${insurer} pays ${money(c.payer)}; you owe ${money(c.patient_share)}.` + paid;
  // An appeal: once, when the claim is decided and not yet paid, if
  // something was refused or leaves the patient something to pay.
  document.getElementById("appeal-form").hidden = c.status !== "adjudicated" || !(c.lines.some(l => l.outcome === "denied") || c.patient_share > 0);
  document.getElementById("eob-result").textContent = "";
  title.focus();
}
document.getElementById("appeal-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const out = document.getElementById("eob-result");
  const reason = document.getElementById("appeal-reason").value.trim();
  if (!reason) { out.textContent = "Say in a few words why you appeal."; return; }
  out.textContent = "Sending your appeal…";
  try {
    const res = await act("claims.appeal", { claim: eobClaim.id, reason }, keyOf(eobClaim.patient));
    out.textContent = `Appealed (block ${res.height}): ${(await names())[eobClaim.insurer] || "the insurer"} reviews it again.`;
    await showClaims(await names());
    document.getElementById("appeal-form").hidden = true;
  } catch (e) {
    out.textContent = "Not sent: " + e.message + (e.problem && e.problem.detail ? " — " + e.problem.detail : "");
  }
});

// inbox lists what happened that the patient should know of: others'
// reads (emergency ones first in weight), refused attempts, consents that
// end within a week, the erasure's state; newer than the last "seen" is
// marked new (the mark is kept in this browser).
let erasureLine = null, inboxNewest = null, inboxKey = "";
document.getElementById("inbox-seen").addEventListener("click", () => {
  if (inboxNewest) localStorage.setItem(inboxNewest[0], inboxNewest[1]);
  refresh();
});
function inbox(others, consents, recordWords, who) {
  const items = [];
  for (const a of others.slice(0, 50)) {
    const by = who[a.requester] || "someone";
    const what = recordWords(a.record);
    if (a.study) items.push([a.time, "ok", `${by} used your records in ${studyWords(a.study)}, as your research consent for it allows: at its own site, where only a model or a count computed from them leaves it.`]);
    else if (a.emergency) items.push([a.time, "stop", `EMERGENCY: ${by} read ${what} without your consent (${a.emergency_reason.replaceAll("_", " ")}). The regulator is told too.`]);
    else if (a.outcome === "granted") items.push([a.time, "ok", `${by} read ${what} for ${a.purpose.replaceAll("_", " ")}.`]);
    else items.push([a.time, "again", `${by} asked for ${what} for ${a.purpose.replaceAll("_", " ")} and was refused (${(a.refusal || a.outcome).replaceAll("_", " ")}).`]);
  }
  const soon = Date.now() + 7 * 864e5;
  for (const c of consents) {
    const end = new Date(c.expires).getTime();
    if (c.status === "active" && end > Date.now() && end < soon) {
      const days = Math.ceil((end - Date.now()) / 864e5);
      items.push([c.expires, "again", `Your consent for ${who[c.grantee] || "a grantee"} (${c.purpose.replaceAll("_", " ")}) ends in ${days} day${days > 1 ? "s" : ""}.`]);
    }
  }
  if (erasureLine) items.push(erasureLine);
  items.sort((x, y) => x[0] < y[0] ? 1 : -1);
  // Kept by a digest of the patient's id: the browser's storage does not
  // say which patient used it.
  const key = "primum-inbox-seen-" + inboxKey, seen = localStorage.getItem(key) || "";
  const fresh = items.filter(i => i[0] > seen).length;
  const badge = document.getElementById("inbox-new");
  badge.hidden = fresh === 0;
  badge.textContent = fresh ? fresh + " new" : "";
  document.getElementById("inbox-seen").hidden = fresh === 0;
  inboxNewest = [key, items.length ? items[0][0] : ""];
  const ul = document.getElementById("inbox");
  const sig = JSON.stringify(items.slice(0, 15)) + fresh;
  if (ul.dataset.sig === sig) return;
  ul.dataset.sig = sig;
  ul.replaceChildren(...(items.length ? items.slice(0, 15) : [["", "", "Nothing yet: nobody but you has read or asked for your records."]]).map(([t, tone, text]) => {
    const li = document.createElement("li");
    li.className = "tone-" + tone + (t && t > seen ? " new" : "");
    const time = document.createElement("time");
    time.textContent = t ? when(t) + " — " : "";
    li.append(time, text);
    return li;
  }));
}

// showErasure shows where the patient's erasure stands, over every
// pseudonym, and what each institution still keeps, why and until when.
async function showErasure(who) {
  const all = await Promise.all(mine.map(p => api(`/api/v1/patients/${p.id}/erasure`, { key: p.key })));
  const asked = all.filter(st => st.state !== "none");
  const st = {
    state: asked.length === 0 ? "none" : asked.some(s => s.state === "in_progress") ? "in_progress" : "complete",
    request: asked.map(s => s.request).sort((a, b) => a.time < b.time ? -1 : 1)[0],
    erased: all.reduce((n, s) => n + s.erased, 0), remaining: all.reduce((n, s) => n + s.remaining, 0),
    retained: all.flatMap(s => s.retained),
  };
  document.getElementById("erasure").dataset.state = st.state;
  const summary = document.getElementById("erasure-summary");
  if (st.state === "none") {
    summary.textContent = "You have not asked for erasure.";
  } else {
    const asked = "You asked for erasure on " + when(st.request.time) + ": ";
    summary.textContent = st.state === "in_progress"
      ? asked + `in progress, ${st.erased} record(s) erased, ${st.remaining} not reached yet.`
      : asked + `complete. ${st.erased} record(s) erased, ${st.retained.length} kept under a legal duty.` +
        (st.remaining ? ` ${st.remaining} record(s) registered since.` : "");
  }
  erasureLine = st.state === "none" ? null : [st.request.time, st.state === "complete" ? "ok" : "again", summary.textContent];
  document.getElementById("retained").hidden = st.retained.length === 0;
  fill("#retained", st.retained.map(r => [read[r.id] ? read[r.id].title : "a record from " + when(r.registered), kindOf(r.category), who[r.custodian] || r.custodian,
    when(r.retained_until), bases[r.retention_basis] || r.retention_basis]));
  return st;
}

// erase sends records.erase, as each pseudonym with records, until every
// record has been reached: one transaction reaches at most 500.
async function erase(msg) {
  // Every pseudonym, not only those this browser lists: an erasure must
  // miss none.
  mine = await findPseudonyms(true);
  let done = 0, retained = 0;
  for (const p of mine) {
    const status = () => api(`/api/v1/patients/${p.id}/erasure`, { key: p.key });
    let st = await status();
    const held = await getAll(`/api/v1/patients/${p.id}/records`, p.key);
    for (let steps = Math.ceil(st.remaining / 500) + 2; held.length > 0 && !(st.state === "complete" && st.remaining === 0); steps--) {
      if (steps === 0) { msg.textContent = "Records are still being added; press Erase again."; return; }
      await act("records.erase", {}, p.key);
      st = await status();
      msg.textContent = `Erasing… ${done + st.erased} record(s) erased, ${st.remaining} to go.`;
    }
    done += st.erased;
    retained += st.retained.length;
  }
  msg.textContent = "Erasure complete: every institution has destroyed the keys of your records" +
    (retained ? `, except ${retained} it must keep by law (below).` : ".");
}

async function revoke(id, patient) {
  const msg = document.getElementById("consent-message");
  try {
    await act("consent.revoke", { id }, keyOf(patient));
    msg.textContent = "Consent revoked: it no longer covers any access.";
  } catch (e) { msg.textContent = "Could not revoke: " + e.message; }
  await refresh();
}

// recordsHeld are the records about the patient (their index entries), and read
// the resources read so far in this page, by record id: shown as words,
// grouped by kind, newest first, with no record id on the surface.
let recordsHeld = [];
const read = {};
function showRecords(who) {
  const dateOf = r => read[r.id] && read[r.id].date ? read[r.id].when : r.registered;
  const shown = [...recordsHeld].sort((a, b) => kindOf(a.category).localeCompare(kindOf(b.category)) || (dateOf(a) < dateOf(b) ? 1 : -1));
  fill("#records", shown.map(r => {
    const t = read[r.id];
    const what = t ? t.title + (t.value ? " " + t.value : "") : r.status === "erased" ? "Erased" : "Not read yet";
    const status = { text: r.status === "retained" ? "kept until " + when(r.retained_until) : r.status, cls: "status-" + r.status };
    const action = r.status === "erased" ? "" : t ? button("Details", () => showDetail(r, who), "secondary") : button("Read", () => readOne(r, who), "read");
    action && action.setAttribute("aria-label", (t ? "Details of " : "Read ") + (t ? t.title : kindOf(r.category) + " record") + " held by " + (who[r.custodian] || "an institution"));
    return [t ? what : { text: what, cls: "muted" }, kindOf(r.category), who[r.custodian] || r.custodian, t && t.date ? t.date : dateOnly(r.registered), status, action];
  }));
}
// readOne reads one record as the pseudonym it is held under.
async function readOne(r, who, quiet) {
  const msg = document.getElementById("records-message");
  if (!quiet) msg.textContent = "Asking " + (who[r.custodian] || "the institution") + " for the record…";
  try {
    const resource = await readRecord(r, "patient", keyOf(r.patient));
    const t = fhirText(resource);
    read[r.id] = Object.assign(t, { resource, when: resource.effectiveDateTime || resource.onsetDateTime || resource.authoredOn || r.registered });
    if (!quiet) msg.textContent = t.title + (t.value ? " " + t.value : "") + (t.date ? " · " + t.date : "") + " · " + (who[r.custodian] || r.custodian);
  } catch (e) {
    const why = e.problem && e.problem.code === "not_held_here"
      ? "it is held at another member's node: read it there, or with primum records fetch"
      : e.message + (e.problem && e.problem.detail ? " — " + e.problem.detail : "");
    msg.textContent = "Could not read the record from " + (who[r.custodian] || r.custodian) + ": " + why;
    if (quiet) throw e;
  }
  showRecords(who);
}
function showDetail(r, who) {
  const t = read[r.id];
  document.getElementById("record-detail").hidden = false;
  document.getElementById("record-detail-title").textContent = t.title + (t.value ? " " + t.value : "");
  const dl = document.getElementById("record-detail-fields");
  dl.replaceChildren();
  for (const [k, v] of [["Date", t.date], ["Held by", who[r.custodian] || r.custodian], ["Registered on the ledger", when(r.registered)], ...t.rows]) {
    if (!v) continue;
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = k; dd.textContent = v;
    dl.append(dt, dd);
  }
  document.getElementById("record-detail-json").textContent = JSON.stringify(t.resource, null, 2);
  document.getElementById("record-detail-title").focus();
}
document.getElementById("record-detail-close").addEventListener("click", () => { document.getElementById("record-detail").hidden = true; });
// Read all: each record not read yet, one after another (each read is an
// access entry on the ledger).
document.getElementById("read-all").addEventListener("click", async () => {
  const who = await names(), msg = document.getElementById("records-message");
  const todo = recordsHeld.filter(r => r.status !== "erased" && !read[r.id]);
  let done = 0, failed = 0;
  for (const r of todo) {
    msg.textContent = `Reading your records… ${done} of ${todo.length}`;
    try { await readOne(r, who, true); done++; } catch (e) { failed++; }
  }
  msg.textContent = `Read ${done} record(s)` + (failed ? `; ${failed} could not be read (try them one by one to see why).` : ".");
});

async function ready(who) {
  me = who;
  inboxKey = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("primum inbox " + me.id))).slice(0, 32);
  mine = await findPseudonyms(false);
  if (withKey()) wireEnrolment();
  if (withKey()) {
    document.getElementById("export").hidden = true;
    document.getElementById("export-key-note").hidden = false;
  }
  // Those a consent may name: practitioners, and institutions that hold
  // records, by name.
  const select = document.getElementById("grantee");
  const n = await names();
  const all = await get("/api/v1/identities");
  const orgOf = {};
  const choices = [];
  for (const i of all) {
    if (i.kind === "practitioner" && i.status === "active") {
      orgOf[i.id] = i.org_id;
      choices.push([i.id, `${i.name ? i.name + ", " + i.profession : i.profession + " " + i.licence}${i.specialty ? " (" + i.specialty + ")" : ""} at ${n[i.org_id] || i.org_id}`]);
    } else if (i.kind === "organisation" && custodians.includes(i.org_type) && i.status === "active") {
      orgOf[i.id] = i.id;
      choices.push([i.id, i.name]);
    }
  }
  choices.sort((a, b) => a[1].localeCompare(b[1]));
  for (const [id, text] of choices) {
    const o = document.createElement("option");
    o.value = id;
    o.textContent = text;
    select.appendChild(o);
  }
  await showGrantPlaces();
  // By default a consent covers the records held where the grantee works.
  const placeFor = () => {
    const p = mine.find(p => p.custodian && p.custodian === orgOf[select.value]);
    if (p) document.getElementById("grant-at").value = p.id;
  };
  select.addEventListener("change", placeFor);
  placeFor();
  // Search by name, specialty or institution: the list keeps what matches.
  document.getElementById("grantee-search").addEventListener("input", ev => {
    const q = ev.target.value.trim().toLowerCase();
    let first = null;
    for (const o of select.options) {
      if (!o.value) continue;
      o.hidden = q !== "" && !o.textContent.toLowerCase().includes(q);
      if (!o.hidden && !first) first = o;
    }
    const cur = select.selectedOptions[0];
    // Nobody hidden stays chosen: the first match is, or no one.
    if (cur && cur.value && cur.hidden || q && first && (!cur || !cur.value)) {
      select.value = first ? first.value : "";
      select.dispatchEvent(new Event("change"));
    }
  });
  // scopesAsked counts the rebuilds asked for, scopesShown the one the
  // list shows: Grant waits while they differ. tasksSeen keeps each
  // task's definition (its participants do not change).
  let held = [], scopesAsked = 0, scopesShown = 0, scopesFailed = "", chosen = "all";
  const tasksSeen = {};
  // The summary says in words what Grant will do; the code a doctor scans
  // opens this patient (their number at the institution chosen) in the
  // practitioner view.
  const summary = () => {
    const o = select.selectedOptions[0], days = Number(document.getElementById("days").value);
    const sc = document.getElementById("scope").selectedOptions[0];
    const until = new Date(Date.now() + days * 864e5).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
    const purpose = document.getElementById("purpose").value;
    document.getElementById("grant-summary").textContent = !select.value ? "" : scopesShown !== scopesAsked ?
      (scopesFailed ? "What a consent may cover could not be listed." : "Bringing the list under Scope up to date…") : sc && !sc.value ? "Choose again under Scope: what you chose is not offered for this purpose and grantee." : sc && sc.value.startsWith("study:") ?
      `${o.textContent} can use your records in ${sc.textContent} until ${until}, at its own site: only a model computed from them leaves it, and your access trail will say so.` :
      `${o.textContent} can read ${sc ? sc.textContent.replace(/^my /, "your ").replace(/^all my/, "all your").replace(/^only /, "") : "your records"} ` +
      `for ${purpose.replaceAll("_", " ")} until ${until}.` +
      (purpose !== "research" ? "" : [...document.getElementById("scope").options].some(o => o.value.startsWith("study:"))
        ? " (To let it use your records in a study, choose the study under Scope: a consent to research at large lets no study use them.)"
        : " (It trains in no learning task on consented records now: a consent to research at large lets no study use your records.)");
    const at = document.getElementById("grant-at").value || me.id;
    showCode(document.getElementById("my-qr"), document.getElementById("my-link"), location.origin + "/practitioner.html?patient=" + at);
    const p = mine.find(p => p.id === at);
    document.getElementById("my-code-at").textContent = p && p.custodian ? "It carries your number at " + (n[p.custodian] || p.custodian) + " (the institution chosen above)." : "";
  };
  for (const id of ["grantee", "purpose", "scope", "days", "grant-at"]) {
    document.getElementById(id).addEventListener("change", summary);
    document.getElementById(id).addEventListener("input", summary);
  }
  // Opened from a practitioner's sharing code (#share-with=ID): them chosen.
  const asked = new URLSearchParams(location.hash.slice(1)).get("share-with");
  if (asked && [...select.options].some(o => o.value === asked)) {
    select.value = asked;
    placeFor();
    document.getElementById("consent-message").textContent = select.selectedOptions[0].textContent +
      " asked you to share: choose what they may read and for how long, then Grant.";
    document.getElementById("grant").scrollIntoView({ block: "start" });
  }
  const scope = document.getElementById("scope");
  // chosen is the patient's own last choice of scope: a list rebuilt
  // shows it again wherever it is offered.
  scope.addEventListener("change", () => {
    if (!scope.value) return;
    chosen = scope.value;
    const msg = document.getElementById("consent-message");
    if (msg.textContent === mustChoose) msg.textContent = "";
  });
  // showScopes lists what a consent may cover: all, a category, one record.
  // It fetches everything first and then swaps the list in one step, and
  // only the latest call swaps: a list half rebuilt, or rebuilt by an
  // older call, would leave "all my records" chosen under the patient's
  // hand, and Grant would then widen the consent to everything. For the
  // same reason a choice no longer offered when the list is rebuilt (a
  // study ended, a record erased, a study the grantee does not train in)
  // is not replaced by "all my records": the patient chooses again, and
  // Grant waits until they have.
  showScopes = async () => {
    const asked = ++scopesAsked;
    scope.setAttribute("aria-busy", "true"); // until the list is rebuilt (the page starts so)
    summary(); // "updating", as well
    let records, tasks = [];
    try {
      records = await each(id => `/api/v1/patients/${id}/records`);
      // For research: the learning tasks on consented records still
      // training, each a study the institution may then use your records
      // in, if it is one of those that train (records.use).
      if (document.getElementById("purpose").value === "research") {
        const open = (await get("/api/v1/fl/tasks?limit=1000")).filter(t => t.consented && t.status === "training");
        tasks = await Promise.all(open.map(async t => tasksSeen[t.id] ||= await get("/api/v1/fl/tasks/" + encodeURIComponent(t.id))));
      }
    } catch (e) {
      if (asked === scopesAsked) {
        scopesFailed = "Could not list what a consent may cover (" + e.message + "): change the purpose or the grantee to try again.";
        scope.removeAttribute("aria-busy");
        document.getElementById("consent-message").textContent = scopesFailed;
        summary();
      }
      return;
    }
    if (asked !== scopesAsked) return;
    const msg = document.getElementById("consent-message");
    if (scopesFailed && msg.textContent === scopesFailed) msg.textContent = "";
    scopesFailed = "";
    scopesShown = asked;
    held = records;
    const options = [new Option("all my records", "all")];
    for (const t of tasks.filter(t => (t.participants || []).includes(select.value))) {
      options.push(new Option(`the learning task “${t.title}” (${t.id})`, "study:fl:" + t.id));
    }
    for (const c of [...new Set(held.map(r => r.category))].sort()) options.push(new Option("my " + kindOf(c).toLowerCase() + " records", c));
    for (const r of held.filter(r => r.status === "stored")) {
      options.push(new Option(`only ${read[r.id] ? "“" + read[r.id].title + "”" : "one record (" + kindOf(r.category).toLowerCase() + ")"} (${n[r.custodian] || r.custodian}, ${when(r.registered)})`, "record:" + r.id));
    }
    if (!options.some(o => o.value === chosen)) options.unshift(new Option("choose again (not offered now)", ""));
    scope.replaceChildren(...options);
    scope.value = options[0].value === "" ? "" : chosen;
    scope.removeAttribute("aria-busy");
    summary();
  };
  document.getElementById("purpose").addEventListener("change", showScopes);
  // The studies offered are those the grantee trains in.
  select.addEventListener("change", () => { if (document.getElementById("purpose").value === "research") showScopes(); });
  await showScopes();
  document.getElementById("grant").addEventListener("submit", async ev => {
    ev.preventDefault();
    const msg = document.getElementById("consent-message");
    if (scopesShown !== scopesAsked) {
      msg.textContent = scopesFailed || "One moment: the list under Scope is being brought up to date.";
      return;
    }
    if (!scope.value) {
      msg.textContent = mustChoose;
      return;
    }
    const s = scope.value === "all" ? { all: true } : scope.value.startsWith("record:") ? { records: [scope.value.slice(7)] }
      : scope.value.startsWith("study:") ? { studies: [scope.value.slice(6)] } : { categories: [scope.value] };
    const expires = new Date(Date.now() + Number(document.getElementById("days").value) * 864e5).toISOString().replace(/\.\d+Z$/, "Z");
    // A consent is granted by one pseudonym, for the records held under it:
    // one record's own, or the institution chosen. (One consent per
    // pseudonym at once would show members they are one person's.)
    const record = s.records && held.find(r => r.id === s.records[0]);
    const at = record ? record.patient : document.getElementById("grant-at").value;
    // Only one of the patient's own numbers grants: for any other, keyOf
    // finds no key and act would sign with the key signed in, for records
    // the patient did not pick.
    if (!mine.some(p => p.id === at)) {
      msg.textContent = "Choose again under Records where the records are held.";
      await showGrantPlaces();
      return;
    }
    try {
      await act("consent.grant", { grantee: select.value, scope: s, purpose: document.getElementById("purpose").value, expires }, keyOf(at));
      msg.textContent = "Consent granted.";
    } catch (e) { msg.textContent = "Could not grant: " + e.message + (e.problem && e.problem.detail ? " — " + e.problem.detail : ""); }
    await refresh();
  });
  document.getElementById("export").addEventListener("click", async () => {
    const msg = document.getElementById("rights-message");
    msg.textContent = "Collecting your records from every institution…";
    try {
      // The export comes a page at a time (each page's records are read
      // from their custodians); the pages make one Bundle to download.
      let bundle = null;
      for (const p of mine) {
        for (let next = `/api/v1/patients/${p.id}/export`; next;) {
          const page = await getPage(next, p.key);
          if (!bundle) bundle = page.items;
          else bundle.entry = bundle.entry.concat(page.items.entry || []);
          msg.textContent = `Collecting your records from every institution… (${bundle.entry.length} entries so far)`;
          next = page.next;
        }
      }
      delete bundle.link;
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([JSON.stringify(bundle, null, 2)], { type: "application/fhir+json" }));
      a.download = "my-health-records.json";
      a.click();
      msg.textContent = `Export ready: ${bundle.entry.length} entries.`;
    } catch (e) { msg.textContent = "Export failed: " + e.message; }
    await refresh();
  });
  // Erasure is a guided step: what it does, then the word typed.
  const panel = document.getElementById("erase-panel"), typed = document.getElementById("erase-confirm"), go = document.getElementById("erase-go");
  document.getElementById("erase").addEventListener("click", () => {
    panel.hidden = false;
    typed.value = "";
    go.disabled = true;
    document.getElementById("erase-title").focus();
  });
  document.getElementById("erase-cancel").addEventListener("click", () => { panel.hidden = true; });
  typed.addEventListener("input", () => { go.disabled = typed.value.trim() !== "ERASE"; });
  go.addEventListener("click", async () => {
    if (typed.value.trim() !== "ERASE") return;
    panel.hidden = true;
    const msg = document.getElementById("rights-message");
    try {
      await erase(msg);
    } catch (e) { msg.textContent = "Erasure failed: " + e.message; }
    await refresh();
  });
  document.getElementById("show-own").addEventListener("change", refresh);
  await refresh();
  setInterval(refresh, 5000);
}
// showGrantPlaces lists the pseudonyms a consent may be granted from: a
// consent covers the records held under the one that grants it.
async function showGrantPlaces() {
  const sel = document.getElementById("grant-at");
  const who = await names();
  const was = sel.value;
  sel.replaceChildren(...mine.map(p => {
    const o = document.createElement("option");
    o.value = p.id;
    o.textContent = p.custodian ? "held at " + (who[p.custodian] || p.custodian) : mine.length > 1 ? "held under your key's own number" : "all institutions";
    return o;
  }));
  if (mine.some(p => p.id === was)) sel.value = was;
  // Another institution chosen than before: the summary and the code say so.
  else if (was) sel.dispatchEvent(new Event("change"));
  document.getElementById("grant-at-row").hidden = mine.length < 2;
}

// showEnrolPlaces lists the institutions the patient may enrol at: those
// that hold records, where they hold no number yet.
async function showEnrolPlaces() {
  const select = document.getElementById("enrol-org");
  const orgs = await get("/api/v1/identities?kind=organisation");
  select.replaceChildren(...orgs.filter(o => o.status === "active" && custodians.includes(o.org_type) && !mine.some(p => p.custodian === o.id))
    .map(o => new Option(o.name, o.id)));
}

// wireEnrolment offers enrolling at another institution: the key derived
// for it registers as a new patient, with that institution's voucher.
function wireEnrolment() {
  document.getElementById("pseudonyms-card").hidden = false;
  const select = document.getElementById("enrol-org");
  const msg = document.getElementById("enrol-message");
  showEnrolPlaces();
  document.getElementById("search-pseudonyms").addEventListener("click", async () => {
    if (!confirm("Ask about every institution? The node serving this page learns your key for each one, also where you are not enrolled.")) return;
    const before = mine.length;
    try {
      mine = await findPseudonyms(true);
    } catch (e) {
      document.getElementById("enrol-message").textContent = "The search could not finish, try again: " + e.message;
      return;
    }
    showEnrolPlaces();
    await showGrantPlaces();
    await showScopes();
    await refresh();
    document.getElementById("enrol-message").textContent = mine.length > before
      ? `Found ${mine.length - before} more number(s); this browser lists them from now on.` : "No other numbers found.";
  });
  document.getElementById("enrol-at").addEventListener("submit", async ev => {
    ev.preventDefault();
    const voucher = document.getElementById("enrol-voucher").value.trim();
    try {
      const k = await myKey.derive((await keyInfo()).chain_id, select.value);
      await act("identity.register_patient", voucher ? { voucher } : {}, k);
      const info = await keyInfo(k);
      await myKey.remember(select.value);
      mine.push({ id: info.identity.id, key: k, custodian: select.value });
      showGrantPlaces();
      msg.textContent = `Enrolled: your number at ${select.selectedOptions[0].textContent} is ${info.identity.id}. Give it to them.`;
      select.selectedOptions[0].remove();
      document.getElementById("enrol-voucher").value = ""; // used: it is no good again
      await showPseudonyms();
    } catch (e) {
      msg.textContent = e.message === "voucher_unknown" ? "That voucher was never issued, or was used already: ask the institution for a new one."
        : e.message === "voucher_required" ? "Enter the voucher the institution gave you."
        : e.message === "key_in_use" ? "You are enrolled there already." : "Could not enrol: " + e.message;
    }
  });
}

signIn(ready);
