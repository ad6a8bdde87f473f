"use strict";
// The capacity dashboard: a map of the sites (an SVG drawn here: no map
// tiles, the page works inside a hospital network), shortages against the
// regions' need, sites and their oxygen, the nearest facility for a
// patient, holds for transfers, and the weekly NHSN-shaped report
// (GET /api/v1/capacity/...; holds through /api/v1/act).
let me = null, sites = [];
const isFacility = () => me && me.kind === "organisation" && ["hospital", "clinic", "lab"].includes(me.org_type);
const svgNS = "http://www.w3.org/2000/svg";
// free is a type's free units at a site, or undefined when it reports none.
const free = (s, type) => (s.available.find(a => a.type === type) || {}).units;
const units = (n, one, many) => n + " " + (n === 1 ? one : many);
const age = sec => sec < 0 ? "never reported" : sec < 3600 ? Math.floor(sec / 60) + " min ago" : sec < 86400 ? Math.floor(sec / 3600) + " h ago" : Math.floor(sec / 86400) + " days ago";
const days = tenths => tenths < 0 ? "not in use" : (tenths / 10).toFixed(1);

function el(name, attrs, text) {
  const e = document.createElementNS(svgNS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// drawMap: an equirectangular view of the sites' box (longitude scaled by
// the cosine of the middle latitude), each region the box of its sites.
function drawMap(shortages) {
  const box = document.getElementById("map-box");
  box.replaceChildren();
  if (!sites.length) { box.textContent = "No sites registered yet."; return; }
  const lats = sites.map(s => s.lat_e6 / 1e6), lons = sites.map(s => s.lon_e6 / 1e6);
  const pad = 0.05;
  const south = Math.min(...lats) - pad, north = Math.max(...lats) + pad, west = Math.min(...lons) - pad, east = Math.max(...lons) + pad;
  // One scale for both axes (longitude shrunk by the cosine of the middle
  // latitude), fitted into a box of fixed shape: a site far from the
  // others makes the map wide or tall, never blank.
  const k = Math.cos((south + north) / 2 * Math.PI / 180);
  const W = 600, H = 400, spanX = (east - west) * k, spanY = north - south;
  const scale = Math.min(W / spanX, H / spanY);
  const ox = (W - spanX * scale) / 2, oy = (H - spanY * scale) / 2;
  const x = lon => ox + (lon - west) * k * scale, y = lat => oy + (north - lat) * scale;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "map-svg-title map-svg-desc", class: "map" });
  svg.append(el("title", { id: "map-svg-title" }, "Sites and regions"));
  const short = {};
  for (const r of shortages) if (r.type === "ventilator" && r.need > 0) short[r.region] = r.shortage > 0;
  const regions = [...new Set(sites.map(s => s.region))];
  svg.append(el("desc", { id: "map-svg-desc" }, regions.map(r => `${r}: ${short[r] === undefined ? "no ventilator need declared" : short[r] ? "short of ventilators" : "enough ventilators"}`).join("; ") +
    ". " + sites.map(s => `${s.name}: ${siteState(s).words}`).join("; ")));
  for (const r of regions) {
    const in_ = sites.filter(s => s.region === r);
    // The box of its sites, 28 units around them (room for a dot and a label).
    const rx0 = x(Math.min(...in_.map(s => s.lon_e6 / 1e6))) - 28, rx1 = x(Math.max(...in_.map(s => s.lon_e6 / 1e6))) + 28;
    const ry0 = y(Math.max(...in_.map(s => s.lat_e6 / 1e6))) - 28, ry1 = y(Math.min(...in_.map(s => s.lat_e6 / 1e6))) + 28;
    const cls = short[r] === undefined ? "region" : short[r] ? "region short" : "region enough";
    svg.append(el("rect", { x: rx0, y: ry0, width: Math.max(rx1 - rx0, 4), height: Math.max(ry1 - ry0, 4), rx: 8, class: cls }));
    svg.append(el("text", { x: rx0 + 6, y: ry0 - 6, class: "region-label" }, r));
  }
  // Labels go where they overlap no dot and no other label (the first of a
  // few places that is free: right, left, then a line below or above).
  const dots = sites.map(s => ({ cx: x(s.lon_e6 / 1e6), cy: y(s.lat_e6 / 1e6) }));
  const placed = [];
  const hits = (a, b) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
  const labelBox = (lx, ly, w, anchor) => anchor === "start" ? { x0: lx, x1: lx + w, y0: ly - 15, y1: ly + 4 } : { x0: lx - w, x1: lx, y0: ly - 15, y1: ly + 4 };
  sites.forEach((s, i) => {
    const st = siteState(s), { cx, cy } = dots[i], w = s.id.length * 10.5;
    const g = el("g", {});
    g.append(el("circle", { cx, cy, r: 10, class: "site " + st.cls }));
    g.append(el("title", {}, `${s.name} (${s.id}): ${st.words}`));
    const tries = [[cx + 14, cy + 5, "start"], [cx - 14, cy + 5, "end"], [cx + 14, cy + 26, "start"], [cx - 14, cy + 26, "end"],
      [cx + 14, cy - 16, "start"], [cx - 14, cy - 16, "end"], [cx + 14, cy + 47, "start"], [cx + 14, cy - 37, "start"]];
    let pick = tries[0];
    for (const t of tries) {
      const b = labelBox(t[0], t[1], w, t[2]);
      const clear = b.x0 >= 0 && b.x1 <= W && !placed.some(p => hits(p, b)) &&
        !dots.some(d => hits({ x0: d.cx - 11, x1: d.cx + 11, y0: d.cy - 11, y1: d.cy + 11 }, b));
      if (clear) { pick = t; break; }
    }
    placed.push(labelBox(pick[0], pick[1], w, pick[2]));
    g.append(el("text", { x: pick[0], y: pick[1], class: "site-label", "text-anchor": pick[2] }, s.id));
    svg.append(g);
  });
  box.append(svg);
}
function siteState(s) {
  if (!s.fresh) return { cls: "stale", words: "report stale or missing" };
  const icu = free(s, "icu-bed"), vent = free(s, "ventilator");
  const said = `${units(icu || 0, "ICU bed", "ICU beds")} and ${units(vent || 0, "ventilator", "ventilators")} free`;
  if (icu > 0 && vent > 0) return { cls: "free", words: said };
  if (icu > 0 || vent > 0) return { cls: "some", words: said };
  return { cls: "none", words: "no ICU bed or ventilator free" };
}

async function picture() {
  const who = await names();
  sites = await getAll("/api/v1/capacity/sites");
  const shortages = await get("/api/v1/capacity/shortages");
  const oxygen = await get("/api/v1/capacity/oxygen");
  drawMap(shortages);
  fill("#shortages", shortages.map(r => [r.region, r.type, r.need || "", r.available, { text: r.shortage ? String(r.shortage) : "", cls: r.shortage ? "status-revoked" : "" },
    r.surplus && r.need ? String(r.surplus) : "", r.sites, r.stale || ""]), i => shortages[i].shortage ? "flagged" : "");
  fill("#sites", sites.map(s => {
    const other = s.available.filter(a => a.type !== "icu-bed" && a.type !== "ventilator").map(a => `${a.units} ${a.type}`).join(", ");
    const shown = type => !s.fresh || free(s, type) === undefined ? "—" : String(free(s, type));
    return [`${s.name} (${s.id})`, who[s.org] || s.org, s.region, { text: s.fresh ? age(s.age_seconds) : "stale: " + age(s.age_seconds), cls: s.fresh ? "" : "status-revoked" },
      shown("icu-bed"), shown("ventilator"), other, s.oxygen ? days(s.oxygen.days_tenths) + " days" : ""];
  }));
  fill("#oxygen", oxygen.sites.map(o => [o.name, o.region, o.litres.toLocaleString(), o.burn_lph.toLocaleString(),
    { text: o.stale ? "stale" : o.hours_left < 0 ? "not in use" : String(o.hours_left), cls: !o.stale && o.hours_left >= 0 && o.hours_left < 48 ? "status-revoked" : "" }, o.stale ? "" : days(o.days_tenths)]));
  fill("#oxygen-regions", oxygen.regions.map(r => [r.region, r.litres.toLocaleString(), r.burn_lph.toLocaleString(), days(r.days_tenths), r.stale || ""]));
  if (isFacility()) {
    const mine = sites.filter(s => s.org === me.id), others = sites.filter(s => s.org !== me.id && s.fresh);
    fillSelect("hold-to", mine.map(s => [s.id, s.name]));
    fillSelect("hold-site", others.map(s => [s.id, s.name]));
  }
  await holds(who);
}
function fillSelect(id, options) {
  const sel = document.getElementById(id);
  const keep = sel.value;
  sel.replaceChildren(...options.map(([v, t]) => new Option(t, v)));
  if (options.some(([v]) => v === keep)) sel.value = keep;
}

async function holds(who) {
  const list = await getAll("/api/v1/capacity/holds");
  fill("#holds", list.map(h => {
    const acts = document.createElement("span");
    const open = h.status_now === "held" || h.status_now === "confirmed";
    const act = (label, type) => {
      const b = button(label, () => move(type, h.id), "secondary");
      b.setAttribute("aria-label", `${label} hold ${h.id}`);
      acts.append(b, " ");
    };
    if (h.owner === me.id && h.status_now === "held") act("Confirm", "capacity.confirm");
    if (h.owner === me.id && h.status_now === "confirmed") act("Record transfer", "capacity.transfer");
    if (open && (h.owner === me.id || h.holder === me.id)) act("Release", "capacity.release");
    return [h.id, h.site, h.type + (h.equipment ? " " + h.equipment : ""), h.units, (who[h.holder] || h.holder) + ", " + h.to,
      { text: h.status_now, cls: h.status_now === "transferred" ? "status-active" : open ? "status-open" : "" }, open ? when(h.expires) : "", acts];
  }));
}
async function move(type, id) {
  const out = document.getElementById("hold-result");
  try {
    const res = await act(type, { hold: id });
    out.textContent = `Done (block ${res.height}).`;
    await picture();
  } catch (e) {
    out.textContent = "Not done: " + e.message + (e.problem && e.problem.detail ? " — " + e.problem.detail : "");
  }
}

document.getElementById("hold-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const out = document.getElementById("hold-result");
  const id = "H-" + Date.now().toString(36).toUpperCase();
  try {
    const res = await act("capacity.hold", {
      id, site: document.getElementById("hold-site").value, type: document.getElementById("hold-type").value,
      units: Number(document.getElementById("hold-units").value), to: document.getElementById("hold-to").value, minutes: Number(document.getElementById("hold-minutes").value),
    });
    out.textContent = `Held: ${id} (block ${res.height}).`;
    await picture();
  } catch (e) {
    out.textContent = "Not held: " + e.message + (e.problem && e.problem.detail ? " — " + e.problem.detail : "");
  }
});

document.getElementById("near-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const out = document.getElementById("near-result");
  const q = new URLSearchParams({ lat: document.getElementById("near-lat").value, lon: document.getElementById("near-lon").value, needs: document.getElementById("near-needs").value });
  try {
    const found = await get("/api/v1/capacity/nearest?" + q);
    const needs = document.getElementById("near-needs").value.split(",").map(s => s.trim());
    fill("#nearest", found.map(f => {
      const cell = document.createElement("span");
      if (isFacility() && f.org !== me.id && f.available.length) {
        const b = button("Hold one", () => {
          document.getElementById("hold-site").value = f.site;
          document.getElementById("hold-type").value = f.available[0].type;
          document.getElementById("hold-units").focus();
        }, "secondary");
        b.setAttribute("aria-label", `Hold at ${f.name}`);
        cell.append(b);
      }
      return [f.name, f.region, (f.distance_m / 1000).toFixed(1) + " km", f.available.map(a => `${a.units} ${a.type}`).join(", ") || needs.join(", "), age(f.age_seconds), cell];
    }));
    out.textContent = found.length ? `${found.length} found, nearest first.` : "No site with a fresh report has all of that free now.";
  } catch (e) {
    out.textContent = "Cannot search: " + (e.problem && e.problem.detail ? e.problem.detail : e.message);
  }
});

// The week: ending on this week's Saturday.
const weekBox = document.getElementById("nhsn-week");
async function nhsn() {
  const out = document.getElementById("nhsn-result");
  try {
    const rows = await get("/api/v1/capacity/nhsn/" + weekBox.value);
    const cols = ["orgid", "facilityname", "weekendingdate", "snapshotdate", "numinptbeds", "numinptbedsocc", "numicubeds", "numicubedsocc", "numinptbedsped", "numinptbedsoccped",
      "numicubedsped", "numicubedsoccped", "numvent", "numventuse", "region"];
    fill("#nhsn", rows.map(r => cols.map(c => String(r[c]))));
    out.textContent = rows.length ? "" : "No site reported between that week's Sunday and Wednesday.";
  } catch (e) {
    out.textContent = "Cannot build the report: " + (e.problem && e.problem.detail ? e.problem.detail : e.message);
  }
}
weekBox.addEventListener("change", nhsn);

signIn(async who => {
  me = who;
  document.getElementById("picture").hidden = false;
  document.getElementById("hold-form").hidden = !isFacility();
  const types = ["icu-bed", "general-bed", "paediatric-bed", "paediatric-icu-bed", "ventilator", "paediatric-ventilator", "oxygen-concentrator", "dialysis-machine", "mri", "ct", "ecmo"];
  fillSelect("hold-type", types.map(t => [t, t]));
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + (6 - d.getUTCDay()));
  weekBox.value = d.toISOString().slice(0, 10);
  await picture();
  await nhsn();
  setInterval(() => picture().catch(() => {}), 15000);
});
