"use strict";
// The node page: the chain's health and status, its validators and
// members by name, practitioners, proposals with their deadlines and who
// voted, and a search by transaction hash or identity id. Reads the
// node's REST API (common.js: all text through textContent; rows updated
// in place, so a refresh every 3 s keeps the focus and the selection).
const short = id => id ? id.slice(0, 10) + "…" : "";

async function health() {
  const badge = document.getElementById("health");
  try {
    const h = await get("/healthz");
    badge.textContent = h.catching_up ? "catching up" : "healthy";
    badge.className = "badge " + (h.catching_up ? "status-open" : "status-active");
  } catch (e) {
    badge.textContent = "unreachable";
    badge.className = "badge status-revoked";
    throw e;
  }
}

async function refresh() {
  try {
    await health();
    const s = await get("/api/v1/status");
    document.getElementById("chain-id").textContent = s.chain_id;
    document.getElementById("height").textContent = s.height;
    document.getElementById("block-time").textContent = new Date(s.block_time).toLocaleString();
    document.getElementById("app-hash").textContent = s.app_hash;
    const orgs = await get("/api/v1/identities?kind=organisation");
    const names = {}, byValidator = {};
    for (const o of orgs) {
      names[o.id] = o.name;
      if (o.validator_key) byValidator[o.validator_key.toLowerCase()] = o.name;
    }
    const total = s.validators.reduce((a, v) => a + v.power, 0);
    fill("#validators", s.validators.map(v => [byValidator[v.pub_key.toLowerCase()] || "(not a member's key)", v.power,
      Math.round(100 * v.power / total) + "%", { text: short(v.address), cls: "mono" }]));
    fill("#members", orgs.map(o => [o.name, o.org_type, o.power || 0, { text: o.status, cls: "status-" + o.status }, { text: short(o.id), cls: "mono" }]));
    fill("#practitioners", (await get("/api/v1/identities?kind=practitioner")).map(p =>
      [p.name || "", p.licence, p.profession, p.specialty, p.valid_until, { text: p.status, cls: "status-" + p.status }, names[p.org_id] || short(p.org_id)]));
    // The newest page; older proposals page back from the Link header.
    const { items, next } = await getPage("/api/v1/proposals");
    const note = document.getElementById("proposals-note");
    note.hidden = !next;
    note.textContent = next ? "The newest proposals; older ones, a page at a time: " + next : "";
    const voters = ids => ids.map(id => names[id] || short(id)).join(", ");
    fill("#proposals", items.map(p => [p.id, p.action, p.member ? p.member.name : (names[p.org_id] || short(p.org_id)),
      `${p.yes.length} yes / ${p.no.length} no of ${p.electors}` + (p.yes.length ? " — yes: " + voters(p.yes) : "") + (p.no.length ? "; no: " + voters(p.no) : ""),
      p.status === "open" ? "until " + when(p.deadline) : when(p.deadline), { text: p.status, cls: "status-" + p.status }]));
  } catch (e) {
    document.getElementById("chain-id").textContent = "node unreachable: " + e.message;
  }
}

// search finds a transaction by its hash (its type, signer, block and
// outcome) or an identity by its id (organisations and practitioners are
// public; a patient's is not shown).
async function search(ev) {
  ev.preventDefault();
  const q = document.getElementById("search-q").value.trim().toLowerCase();
  const out = document.getElementById("search-result");
  out.replaceChildren();
  const line = (label, value) => {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = label;
    dd.textContent = value;
    out.append(dt, dd);
  };
  const names = await window.names();
  try {
    if (/^[0-9a-f]{64}$/.test(q)) {
      const t = await get("/api/v1/txs/" + q);
      line("Transaction", t.hash);
      line("Type", t.type);
      line("Signed by", names[t.signer] ? names[t.signer] + " (" + t.signer + ")" : t.signer);
      line("Block", t.height + " (position " + t.index + ")");
      line("Outcome", t.code === 0 ? "committed" : "refused: " + (t.error || t.code) + (t.log ? " — " + t.log : ""));
    } else if (/^[0-9a-f]{40}$/.test(q)) {
      const i = await get("/api/v1/identities/" + q);
      line("Identity", i.id);
      line("Kind", i.kind + (i.org_type ? " (" + i.org_type + ")" : ""));
      if (i.name) line("Name", i.name);
      if (i.profession) line("Credential", [i.profession, i.licence, i.specialty].filter(Boolean).join(", ") + (i.org_id ? " at " + (names[i.org_id] || i.org_id) : ""));
      if (i.device_type) line("Device", i.device_type + (i.org_id ? " of " + (names[i.org_id] || i.org_id) : ""));
      line("Status", i.status + (i.valid_until ? " until " + i.valid_until : ""));
    } else {
      line("Search", "give a transaction's hash (64 hex characters) or an identity's id (40)");
    }
  } catch (e) {
    line("Not found", e.message === "not_found" || e.message === "token_required" || e.message === "no_standing"
      ? "nothing public under " + q : e.message);
  }
}

document.getElementById("search").addEventListener("submit", search);
refresh();
setInterval(refresh, 3000);
