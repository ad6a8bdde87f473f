"use strict";
// The claims page: the published policies (public); signed in, an
// insurer's queue of pended and appealed claims to review, its claims to
// pay, its signals and the visit-level profiles; a provider's claims; the
// regulator's every claim and signal (GET /api/v1/claims, /claims/{id},
// /claim-signals, /claim-em/{month}, /claim-policies).
let me = null, current = null;
const isInsurer = () => me && me.kind === "organisation" && me.org_type === "insurer";
const isRegulator = () => me && me.kind === "organisation" && me.org_type === "regulator";

async function policies() {
  const who = await names();
  const rows = await getAll("/api/v1/claim-policies");
  fill("#policies", rows.map(p => {
    const b = button("Open", () => showPolicy(p.id), "secondary");
    b.setAttribute("aria-label", "Open policy " + p.id);
    return [p.id, p.name, who[p.insurer] || p.insurer, p.version, p.effective + (p.retired ? " (retired from " + p.retired + ")" : ""), p.hash.slice(0, 12) + "…", b];
  }));
}
async function showPolicy(id) {
  const versions = await get("/api/v1/claim-policies/" + encodeURIComponent(id));
  const v = versions[0], plan = v.rule_set.plan;
  document.getElementById("policy").hidden = false;
  const title = document.getElementById("policy-title");
  title.textContent = `${v.id} version ${v.version} (effective ${v.effective}; ${versions.length} version${versions.length > 1 ? "s" : ""})`;
  document.getElementById("policy-plan").textContent = `${plan.name}: deductible ${money(plan.deductible)}, then ${plan.coinsurance_percent}% coinsurance, ` +
    `out-of-pocket maximum ${money(plan.oop_max)} a year; ${v.rule_set.fees.length} fees in its schedule. Rule set ${v.hash}.`;
  fill("#rules", v.rule_set.rules.map(r => [r.id, { text: r.when, cls: "mono" }, r.outcome + (r.reason ? " " + r.reason : "") + (r.waive_cost_share ? ", no cost share" : ""), r.doc || ""]));
  title.focus();
}

async function lists() {
  const who = await names();
  const claims = await getAll("/api/v1/claims");
  fill("#claims", claims.map(c => [c.id, { text: statusWords[c.status] || c.status, cls: statusCls(c.status) }, c.service_date, who[c.provider] || c.provider,
    who[c.insurer] || c.insurer, money(c.charge), money(c.allowed), money(c.payer), money(c.patient_share), (c.signals || []).join(", "), openButton(c.id)]),
    i => (claims[i].signals || []).length ? "flagged" : "");
  document.getElementById("claims-message").textContent = claims.length ? "" : "No claims yet.";
  if (isInsurer()) {
    const queue = await getAll("/api/v1/claims?queue=true");
    fill("#queue", queue.map(c => [c.id, { text: statusWords[c.status] || c.status, cls: statusCls(c.status) }, c.service_date, who[c.provider] || c.provider,
      money(c.charge), (c.signals || []).join(", "), openButton(c.id)]));
    document.getElementById("queue-message").textContent = queue.length ? "" : "Nothing waits for your review.";
  }
  if (isInsurer() || isRegulator()) {
    const signals = await getAll("/api/v1/claim-signals");
    fill("#signals", signals.map(s => [s.kind.replaceAll("_", " "), s.claim, s.line, s.code, who[s.provider] || s.provider, s.detail, when(s.time)]));
    const monthBox = document.getElementById("em-month");
    if (!monthBox.value) monthBox.value = new Date().toISOString().slice(0, 7);
    const month = monthBox.value;
    const em = await get("/api/v1/claim-em/" + month);
    const compared = p => p.percentile !== undefined;
    fill("#em", em.map(p => [who[p.provider] || p.provider, p.visits, (p.high_permille / 10).toFixed(1) + "%", compared(p) ? (p.peer_median_permille / 10).toFixed(1) + "%" : "",
      compared(p) ? ordinal(p.percentile) + " of " + p.peers + " others" : "too few to compare", { text: p.outlier ? "far above peers" : "", cls: p.outlier ? "status-revoked" : "" }]));
  }
}
// ordinal writes 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 33rd, 66th.
function ordinal(n) {
  const tens = n % 100, last = n % 10;
  const suffix = tens >= 11 && tens <= 13 ? "th" : last === 1 ? "st" : last === 2 ? "nd" : last === 3 ? "rd" : "th";
  return n + suffix;
}
function openButton(id) {
  const b = button("Open", () => show(id, true), "secondary");
  b.setAttribute("aria-label", "Open claim " + id);
  return b;
}

async function show(id, focus) {
  const who = await names();
  const c = await get("/api/v1/claims/" + encodeURIComponent(id));
  current = c;
  document.getElementById("claim").hidden = false;
  const title = document.getElementById("claim-title");
  title.textContent = `Claim ${c.id} — ${statusWords[c.status] || c.status}`;
  const dl = document.getElementById("claim-fields");
  dl.replaceChildren();
  for (const [k, v] of [["Provider", who[c.provider] || c.provider], ["Rendered by", c.practitioner ? who[c.practitioner] || c.practitioner : "—"],
    ["Insurer", who[c.insurer] || c.insurer], ["Coverage", c.coverage], ["Date of service", c.service_date], ["Diagnoses", c.diagnoses.join(", ")],
    ["Billed", money(c.charge)], ["Allowed", money(c.allowed)], ["Insurer pays", money(c.payer) + (c.paid ? ` (paid, remittance ${c.remittance})` : "")],
    ["Patient pays", money(c.patient_share)], ["Policy", `${c.policy} version ${c.policy_version}, rule set ${c.rule_set.slice(0, 16)}…`],
    ["Evaluation trace", c.trace.slice(0, 16) + "…"], ["Signals", (c.signals || []).map(s => s.replaceAll("_", " ")).join(", ") || "none"]]) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = k; dd.textContent = String(v);
    dl.append(dt, dd);
  }
  fill("#lines", c.lines.map(l => [l.n, l.code + (l.modifiers ? "-" + l.modifiers.join("-") : ""), l.units, money(l.charge),
    { text: l.outcome + (l.reviewed ? " (by review)" : ""), cls: l.outcome === "covered" ? "status-active" : l.outcome === "denied" ? "status-revoked" : "status-open" },
    reasonText(l.reasons) + (l.rule && !l.reviewed ? " — " + l.rule : ""), money(l.allowed), money(l.deductible), money(l.coinsurance), money(l.payer)]),
    i => c.lines[i].outcome === "pended" ? "flagged" : "");
  document.getElementById("replay-cmd").textContent = `primum claims replay ${c.id} --from YOUR_KEY`;
  fill("#steps", c.steps.map((s, i) => [(i === 0 ? "submitted, " : "") + (statusWords[s.status] || s.status), when(s.time),
    s.by === c.patient ? "the patient" : who[s.by] || s.by, s.note || ""]));
  const mine = isInsurer() && c.insurer === me.id;
  const reviewable = mine && (c.status === "pended" || c.status === "appealed");
  document.getElementById("review-form").hidden = !reviewable;
  document.getElementById("pay-form").hidden = !(mine && (c.status === "adjudicated" || c.status === "readjudicated"));
  document.getElementById("pay-button").textContent = `Pay ${money(c.payer)}`;
  if (reviewable) reviewLines(c, await get("/api/v1/claim-policies/" + encodeURIComponent(c.policy)).then(vs => vs.find(v => v.version === c.policy_version)));
  document.getElementById("claim-result").textContent = "";
  if (focus) title.focus();
}

// reviewLines: a decision for each line to review (the pended ones; every
// line on appeal): covered at an allowed amount — the policy version's fee
// schedule (fee × units, at most the charge) unless the examiner changes
// it — or denied with a reason.
function reviewLines(c, policy) {
  const fees = {};
  for (const f of (policy && policy.rule_set.fees) || []) fees[f.code] = f.cents;
  const box = document.getElementById("review-lines");
  box.replaceChildren();
  for (const l of c.lines.filter(l => c.status === "appealed" || l.outcome === "pended")) {
    const fs = document.createElement("fieldset");
    fs.className = "review-line";
    fs.dataset.n = l.n;
    const legend = document.createElement("legend");
    const fee = fees[l.code] !== undefined ? Math.min(fees[l.code] * l.units, l.charge) : null;
    legend.textContent = `Line ${l.n}: ${l.code} × ${l.units}, billed ${money(l.charge)}, fee schedule ${fee === null ? "none" : money(fee)} — now ${l.outcome}` + (l.reasons.length ? " (" + l.reasons.join(", ") + ")" : "");
    const pick = document.createElement("select");
    pick.id = "review-outcome-" + l.n;
    for (const o of ["covered", "denied"]) pick.add(new Option(o, o));
    const amount = document.createElement("input");
    amount.id = "review-allowed-" + l.n;
    amount.value = money(l.outcome === "covered" ? l.allowed : fee === null ? l.charge : fee);
    amount.inputMode = "decimal";
    const reason = document.createElement("select");
    reason.id = "review-reason-" + l.n;
    for (const code of ["CO-50", "CO-96", "CO-97", "CO-150", "CO-151", "CO-18"]) reason.add(new Option(code + " — " + reasonWords[code], code));
    const labelled = (text, el) => { const lab = document.createElement("label"); lab.htmlFor = el.id; lab.textContent = text; return [lab, el]; };
    fs.append(legend, ...labelled("Decision", pick), ...labelled("Allowed amount (covered)", amount), ...labelled("Reason (denied)", reason));
    box.append(fs);
  }
}
document.getElementById("review-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const out = document.getElementById("claim-result");
  try {
    const lines = [...document.querySelectorAll("#review-lines fieldset")].map(fs => {
      const n = Number(fs.dataset.n), outcome = document.getElementById("review-outcome-" + n).value;
      return outcome === "covered" ? { n, outcome, allowed: toCents(document.getElementById("review-allowed-" + n).value) }
        : { n, outcome, allowed: 0, reason: document.getElementById("review-reason-" + n).value };
    });
    out.textContent = "Recording the review…";
    const res = await act("claims.review", { claim: current.id, lines, note: document.getElementById("review-note").value.trim() });
    await Promise.all([show(current.id, false), lists()]);
    document.getElementById("claim-result").textContent = `Review recorded (block ${res.height}).`;
  } catch (e) {
    out.textContent = "Not recorded: " + e.message + (e.problem && e.problem.detail ? " — " + e.problem.detail : "");
  }
});
document.getElementById("pay-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const out = document.getElementById("claim-result");
  out.textContent = "Paying…";
  try {
    const res = await act("claims.pay", { claim: current.id, remittance: document.getElementById("remittance").value.trim() });
    await Promise.all([show(current.id, false), lists()]);
    document.getElementById("claim-result").textContent = `Paid (block ${res.height}).`;
  } catch (e) {
    out.textContent = "Not paid: " + e.message + (e.problem && e.problem.detail ? " — " + e.problem.detail : "");
  }
});

document.getElementById("em-month").addEventListener("change", () => lists().catch(() => {}));

signIn(async who => {
  me = who;
  document.getElementById("claims-card").hidden = false;
  document.getElementById("queue-card").hidden = !isInsurer();
  document.getElementById("signals-card").hidden = !(isInsurer() || isRegulator());
  await lists();
  setInterval(() => lists().catch(() => {}), 10000);
  if (location.hash.length > 1) await show(decodeURIComponent(location.hash.slice(1)), true);
});
policies().catch(e => { document.getElementById("policies").insertAdjacentText("afterend", "Cannot read the policies: " + e.message); });
