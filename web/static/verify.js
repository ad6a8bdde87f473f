"use strict";
// Pharmacy verification: reads GET /api/v1/verify; all text via textContent.
const orgNames = {};
// me is who signed in to dispense (null: an anonymous check); their
// organisation scans.
let me = null;
const myOrg = () => me && (me.kind === "organisation" ? me.id : me.org_id);
async function loadOrgs() {
  const r = await fetch("/api/v1/identities?kind=organisation");
  if (!r.ok) return;
  const sel = document.getElementById("as");
  for (const o of await r.json()) {
    orgNames[o.id] = o.name;
    const opt = document.createElement("option");
    opt.value = o.id;
    opt.textContent = o.name + " (" + o.org_type + ")";
    sel.appendChild(opt);
  }
  const want = new URLSearchParams(location.search).get("as");
  if (want) sel.value = want;
}
const who = id => orgNames[id] || (id ? id.slice(0, 10) + "…" : "");
// verdicts: each verdict's headline, and its tone.
const verdicts = {
  genuine_dispensable: ["✓ Genuine: dispense", "ok"],
  unknown_serial: ["✗ Unknown serial: do not dispense, report it", "stop"],
  recalled: ["✗ Recalled lot: do not dispense", "stop"],
  expired: ["✗ Expired: do not dispense", "stop"],
  already_dispensed: ["✗ Already dispensed: do not dispense again", "stop"],
  wrong_hands: ["✗ Not held by you: check where it came from", "stop"],
  decommissioned: ["✗ Taken out of the supply chain: do not dispense", "stop"],
  quarantined: ["✗ Quarantined as suspect: do not dispense", "stop"],
  temperature_excursion: ["✗ Temperature excursion: do not dispense", "stop"],
  in_transit: ["… On its way to you: receive it before dispensing", "again"],
  bad_code: ["↻ Not a code this page can read: scan again", "again"],
  missing_separator: ["↻ Scan again: the scanner dropped a separator", "again"],
  logistic_unit: ["▣ A shipping case or pallet: not a pack to dispense", "info"],
  returnable_asset: ["▣ A returnable asset (a cylinder, a crate): not a pack to dispense", "info"],
};
// show fills a line of the verdict, and hides it (its heading too) when
// there is nothing to say.
function show(id, text) {
  const dd = document.getElementById(id);
  dd.textContent = text;
  dd.hidden = !text;
  dd.previousElementSibling.hidden = !text;
}
async function verify(ev) {
  ev.preventDefault();
  // No dispensing from a verdict that is not this scan's.
  document.getElementById("dispense-row").hidden = true;
  document.getElementById("undo-row").hidden = true;
  delete document.getElementById("dispense").dataset.code;
  const code = document.getElementById("code").value.trim();
  if (!code) return;
  const q = new URLSearchParams({code, as: document.getElementById("as").value});
  const r = await fetch("/api/v1/verify?" + q);
  const v = await r.json();
  const box = document.getElementById("result");
  box.hidden = false;
  // The headline says what to do, in words; the tone: go (green), stop
  // (red), look again (amber: a scan to repeat, a pack on its way), or what
  // it is (blue: a case or an asset, which are no packs to dispense).
  const [headline, tone] = r.ok ? (verdicts[v.verdict] || [v.verdict.replaceAll("_", " "), "stop"]) : ["Cannot verify: " + (v.title || v.code || r.status), "again"];
  box.className = "card verdict-" + tone;
  const h = document.getElementById("verdict");
  h.textContent = headline;
  h.dataset.verdict = v.verdict || v.code;
  document.getElementById("message").textContent = r.ok ? v.message : v.detail;
  const reading = document.getElementById("reading");
  reading.textContent = r.ok && v.reading ? "Read as: " + v.reading : "";
  reading.hidden = !reading.textContent;
  const p = v.product;
  remember(v.serial ? (p && p.name ? p.name + " · " : "") + v.serial : code, headline, tone);
  beep(tone);
  // The custody state as the pharmacist reads it: a recalled or
  // quarantined pack is not simply "active".
  const state = v.verdict === "recalled" ? "lot recalled" : v.verdict === "quarantined" ? "quarantined as suspect"
    : v.verdict === "temperature_excursion" ? "held: temperature excursion"
    : ({ active: "in stock", in_transit: "in transit", dispensed: "dispensed" }[v.status] || v.status);
  show("product", p ? [p.name, p.strength, p.form].filter(Boolean).join(" ") + " (GTIN " + p.gtin + ")" : (v.gtin ? "GTIN " + v.gtin : ""));
  show("identity", [v.serial, v.lot, v.expiry].filter(Boolean).join(" / "));
  show("custodian", v.custodian ? who(v.custodian) + " (" + state + ")" : "");
  show("recall", v.recall ? v.recall.reason + (v.recall.by ? " (" + who(v.recall.by) + ")" : "") : "");
  show("suspect", v.suspect_reason || "");
  const rule = v.storage_rule;
  show("storage", rule ? `${centi(rule.min_c)}–${centi(rule.max_c)} °C` + (rule.allowance_s ? `, up to ${duration(rule.allowance_s)} outside` : "") : "");
  coldChain(v);
  document.getElementById("trail-section").hidden = !(v.trail || []).length;
  // Dispense from the verdict: a pack the signed-in pharmacy holds and may
  // dispense.
  const row = document.getElementById("dispense-row");
  row.hidden = !(r.ok && v.dispensable && myOrg() && q.get("as") === myOrg());
  // The pack as the verdict read it (a scan missing a separator was read
  // one way), not the raw scan.
  document.getElementById("dispense").dataset.code = v.gtin && v.serial ? "(01)" + v.gtin + "(21)" + v.serial : code;
  document.getElementById("dispense-note").textContent = "";
  // Undo a dispense this pharmacy made in error, within the 10 days EU FMD
  // allows (the ledger checks by block time).
  const undoable = v.verdict === "already_dispensed" && myOrg() && q.get("as") === myOrg() && v.custodian === myOrg() &&
    Date.now() - new Date(v.dispensed_at).getTime() < 10 * 864e5;
  document.getElementById("undo-row").hidden = !undoable;
  document.getElementById("undo-dispense").dataset.code = document.getElementById("dispense").dataset.code;
  // The verdict carries the latest steps of a long trail, and how many
  // there are; the whole trail pages from the object's route.
  const note = document.getElementById("trail-note");
  const shown = (v.trail || []).length;
  note.hidden = !(v.trail_steps > shown);
  note.textContent = note.hidden ? "" : `The latest ${shown} of ${v.trail_steps} steps. The whole trail, a page at a time: /api/v1/supply/objects/${v.key}`;
  const body = document.querySelector("#trail tbody");
  body.replaceChildren();
  for (const s of v.trail || []) {
    const tr = document.createElement("tr");
    for (const c of [s.seq + 1, new Date(s.time).toLocaleString(), s.action.replaceAll("_", " "), who(s.by), s.to ? who(s.to) : (s.parent || "")]) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  // Ready for the next scan: it replaces this code (a scanner types it and
  // sends Enter).
  const input = document.getElementById("code");
  input.focus();
  input.select();
}
// Hundredths of a degree as degrees, and seconds in words.
const centi = c => (c / 100).toFixed(1);
const duration = s => s >= 3600 ? `${Math.floor(s / 3600)} h${s % 3600 >= 60 ? " " + Math.floor(s % 3600 / 60) + " min" : ""}` : s >= 60 ? `${Math.floor(s / 60)} min` : `${s} s`;
// coldChain draws each temperature record of the pack's shipments: the
// readings as a line, the storage rule's range as a band, the readings
// outside it as red dots (SVG, no library).
function coldChain(v) {
  const records = v.cold_chain || [];
  document.getElementById("cold-section").hidden = records.length === 0;
  const box = document.getElementById("cold-charts");
  box.replaceChildren();
  const rule = v.storage_rule;
  const exc = v.excursion;
  const decided = (v.excursions || []).filter(e => e.decision);
  const said = e => `${e.decision === "release" ? "Released" : "To be destroyed"} by ${who(e.decided_by)}: ${e.note}`;
  document.getElementById("cold-note").textContent = records.length === 0 ? "" : exc
    ? `Excursion on record ${exc.record}: ${exc.reason}.` + (exc.decision ? ` ${said(exc)}.` : " Waiting for the manufacturer's decision.")
    : `${records.length} temperature record${records.length > 1 ? "s" : ""}` +
      (decided.length ? `. ${decided.map(e => `Excursion on record ${e.record} (${e.reason}): ${said(e)}`).join(". ")}.` : rule ? ": none breaks the product's storage rule." : ".");
  for (const rec of records) {
    box.appendChild(chart(rec, rule));
  }
}
// utc writes Unix seconds as "2026-12-04 12:30 UTC": the ledger's and the
// loggers' clocks are UTC.
const utc = t => new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
const SVG = "http://www.w3.org/2000/svg";
function svgEl(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, val] of Object.entries(attrs)) e.setAttribute(k, val);
  if (text !== undefined) e.textContent = text;
  return e;
}
function chart(rec, rule) {
  const fig = document.createElement("figure");
  fig.className = "cold-chart";
  const rs = rec.readings || [];
  const a = (rec.assessments || [])[0];
  const broken = (rec.assessments || []).some(x => x.excursion);
  const route = rec.to ? `${who(rec.from)} → ${who(rec.to)}` : `at ${who(rec.from)} (in store)`;
  const cap = document.createElement("figcaption");
  cap.textContent = `${{ ship: "Shipped", receive: "Received", observe: "Observed" }[rec.step] || rec.step} ${utc(Date.parse(rec.event_time || rec.time) / 1000)} · ${route}` +
    (rec.carrier ? ` · carrier ${rec.carrier}` : "") + ` · ${rs.length} readings` +
    (rec.logger ? ` (committed by logger ${rec.logger.slice(0, 10)}…, batch ${rec.batch}: each provable offline)` : "") +
    (a ? ` · ${broken ? "✗ " + a.reason : "✓ within " + a.rule}` : "") +
    (a && rs.length ? ` · ${centi(a.lowest_c)} to ${centi(a.highest_c)} °C` : "");
  if (broken) cap.className = "tone-stop";
  const W = 600, H = 170, L = 52, R = 8, T = 8, B = 30;
  const cs = rs.map(r => r.c).concat(rule ? [rule.min_c, rule.max_c] : []);
  let lo = Math.min(...cs), hi = Math.max(...cs);
  if (hi - lo < 200) { lo -= 100; hi += 100; }
  const t0 = rs.length ? rs[0].t : 0, t1 = rs.length ? rs[rs.length - 1].t : 1;
  const x = t => L + (t1 > t0 ? (t - t0) / (t1 - t0) : 0.5) * (W - L - R);
  const y = c => T + (hi - c) / (hi - lo) * (H - T - B);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": cap.textContent });
  if (rule) {
    svg.appendChild(svgEl("rect", { x: L, y: y(rule.max_c), width: W - L - R, height: y(rule.min_c) - y(rule.max_c), class: "band" }));
  }
  svg.appendChild(svgEl("text", { x: L - 4, y: T + 14, "text-anchor": "end", class: "axis" }, centi(hi) + "°"));
  svg.appendChild(svgEl("text", { x: L - 4, y: H - B, "text-anchor": "end", class: "axis" }, centi(lo) + "°"));
  if (rule) {
    for (const c of [rule.min_c, rule.max_c]) {
      if (c > lo && c < hi) svg.appendChild(svgEl("text", { x: W - R - 2, y: y(c) - 3, "text-anchor": "end", class: "axis band-edge" }, centi(c) + "°"));
    }
  }
  if (!rs.length) {
    const alarms = (rec.exceptions || []).map(e => `${e.exception} at ${utc(e.t)}`).join(", ");
    svg.appendChild(svgEl("text", { x: L + 8, y: H / 2, class: "axis" }, alarms ? "No readings: the logger reported " + alarms : "No readings"));
  }
  if (rs.length) {
    svg.appendChild(svgEl("text", { x: L, y: H - 4, class: "axis" }, utc(t0)));
    svg.appendChild(svgEl("text", { x: W - R, y: H - 4, "text-anchor": "end", class: "axis" }, utc(t1)));
    svg.appendChild(svgEl("polyline", { points: rs.map(r => `${x(r.t).toFixed(1)},${y(r.c).toFixed(1)}`).join(" "), class: "line" }));
    for (const r of rs) {
      if (rule && (r.c < rule.min_c || r.c > rule.max_c)) {
        svg.appendChild(svgEl("circle", { cx: x(r.t).toFixed(1), cy: y(r.c).toFixed(1), r: 3, class: "out" }, undefined));
      }
    }
  }
  fig.append(svg, cap);
  return fig;
}
// remember keeps the last ten verdicts of this tab, newest first (in
// sessionStorage: they survive a reload, not the tab's closing).
const recent = JSON.parse(sessionStorage.getItem("primum-recent-scans") || "[]");
function showRecent() {
  document.getElementById("recent-card").hidden = recent.length === 0;
  fill("#recent", recent.map(([at, what, headline, tone]) => [at, what, { text: headline, cls: "tone-" + tone }]));
}
function remember(what, headline, tone) {
  recent.unshift([new Date().toLocaleTimeString(), what, headline, tone]);
  recent.length = Math.min(recent.length, 10);
  sessionStorage.setItem("primum-recent-scans", JSON.stringify(recent));
  showRecent();
}
showRecent();
// beep sounds a verdict, when asked for: one high tone to go on, two low
// ones to stop, a middle one otherwise.
let audio = null;
function beep(tone) {
  if (!document.getElementById("sound").checked) return;
  audio = audio || new AudioContext();
  const tones = tone === "ok" ? [[880, 0]] : tone === "stop" ? [[220, 0], [220, 0.25]] : [[440, 0]];
  for (const [hz, at] of tones) {
    const o = audio.createOscillator(), g = audio.createGain();
    o.frequency.value = hz;
    g.gain.value = 0.15;
    o.connect(g).connect(audio.destination);
    o.start(audio.currentTime + at);
    o.stop(audio.currentTime + at + 0.18);
  }
}
document.getElementById("verify-form").addEventListener("submit", verify);
document.getElementById("dispense-skip").addEventListener("click", () => {
  document.getElementById("dispense-row").hidden = true; // the camera reads again
  const input = document.getElementById("code");
  input.focus();
  input.select();
});
document.getElementById("dispense").addEventListener("click", async ev => {
  const b = ev.target, note = document.getElementById("dispense-note");
  const code = b.dataset.code; // this verdict's pack, whatever is scanned meanwhile
  b.disabled = true;
  note.textContent = "Dispensing…";
  try {
    await act("supply.dispense", { code });
    // The verdict again, from the ledger: now dispensed, by this pharmacy
    // — said as the pharmacist's own act, not as a second scan's warning.
    document.getElementById("code").value = code;
    await verify(new Event("submit"));
    const h = document.getElementById("verdict");
    if (h.dataset.verdict === "already_dispensed") {
      h.textContent = "✓ Dispensed by you just now";
      document.getElementById("result").className = "card verdict-ok";
      document.getElementById("message").textContent = "The pack is recorded as dispensed by your pharmacy. Scanned again, it answers already dispensed.";
    }
  } catch (e) {
    note.textContent = "Not dispensed: " + e.message;
  } finally {
    b.disabled = false;
  }
});
document.getElementById("undo-dispense").addEventListener("click", async ev => {
  const b = ev.target, note = document.getElementById("undo-note");
  const code = b.dataset.code;
  b.disabled = true;
  note.textContent = "Taking the dispense back…";
  try {
    await act("supply.undo_dispense", { code });
    document.getElementById("code").value = code;
    await verify(new Event("submit"));
    note.textContent = "Dispensed here in error? A dispense may be taken back within 10 days.";
    document.getElementById("message").textContent += " Dispense taken back: the pack is in your stock again.";
  } catch (e) {
    note.textContent = "Not taken back: " + e.message;
  } finally {
    b.disabled = false;
  }
});
loadOrgs().then(() => signIn(async who => {
  me = who;
  const sel = document.getElementById("as");
  sel.value = myOrg() || "";
  sel.disabled = true; // the scanning organisation is the one signed in
  document.getElementById("who").textContent = (who.name || who.profession + " " + who.licence) + (myOrg() && orgNames[myOrg()] ? " at " + orgNames[myOrg()] : "");
}));
