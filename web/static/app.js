"use strict";
// The node page: the chain's health and status, the latest blocks (what
// kind of transactions, the time between blocks, peers), its validators and
// members by name, practitioners, proposals with their deadlines and who
// voted, the software upgrade scheduled, and a search by transaction hash or identity id. Reads the
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
    document.getElementById("upgrade").textContent = upgradeText(await get("/api/v1/governance/upgrade"), s.height);
    const orgs = await get("/api/v1/identities?kind=organisation");
    const names = {}, byValidator = {};
    for (const o of orgs) {
      names[o.id] = o.name;
      if (o.validator_key) byValidator[o.validator_key.toLowerCase()] = o.name;
    }
    const total = s.validators.reduce((a, v) => a + v.power, 0);
    const b = await get("/api/v1/blocks");
    const byAddress = {};
    for (const v of s.validators) byAddress[v.address.toUpperCase()] = byValidator[v.pub_key.toLowerCase()] || short(v.address);
    fill("#validators", s.validators.map(v => {
      const signed = b.signed[v.address.toUpperCase()] || 0;
      return [byValidator[v.pub_key.toLowerCase()] || "(not a member's key)", v.power, Math.round(100 * v.power / total) + "%",
        { text: b.window ? `${signed} of the last ${b.window} blocks` : "", cls: b.window && signed < b.window ? "status-open" : "status-active" },
        { text: short(v.address), cls: "mono" }];
    }));
    showBlocks(b, byAddress);
    fill("#members", orgs.map(o => [o.name, o.org_type, o.power || 0, { text: o.status, cls: "status-" + o.status }, { text: short(o.id), cls: "mono" }]));
    fill("#practitioners", (await get("/api/v1/identities?kind=practitioner")).map(p =>
      [p.name || "", p.licence, p.profession, p.specialty, when(p.valid_until), { text: p.status, cls: "status-" + p.status }, names[p.org_id] || short(p.org_id)]));
    // The newest page; older proposals page back from the Link header.
    const { items, next } = await getPage("/api/v1/proposals");
    const note = document.getElementById("proposals-note");
    note.hidden = !next;
    note.textContent = next ? "The newest proposals; older ones, a page at a time: " + next : "";
    const voters = ids => ids.map(id => names[id] || short(id)).join(", ");
    const subject = p => p.member ? p.member.name : p.upgrade ? p.upgrade.name + (p.upgrade.height ? " at height " + p.upgrade.height : "")
      : (names[p.org_id] || short(p.org_id));
    fill("#proposals", items.map(p => [p.id, p.action.replaceAll("_", " "), subject(p),
      `${p.yes.length} yes / ${p.no.length} no of ${p.electors}` + (p.yes.length ? " — yes: " + voters(p.yes) : "") + (p.no.length ? "; no: " + voters(p.no) : ""),
      p.status === "open" ? "until " + when(p.deadline) : when(p.deadline), { text: p.status, cls: "status-" + p.status }]));
  } catch (e) {
    document.getElementById("chain-id").textContent = "node unreachable: " + e.message;
  }
}

// upgradeText says what operators must know of software upgrades: the one
// scheduled (every node stops after the block before its height, and the
// Primum that carries it must be installed by then), or the last one done.
function upgradeText(u, height) {
  if (u.scheduled) {
    const p = u.scheduled;
    return `${p.name} at height ${p.height} (in ${Math.max(0, p.height - height)} blocks): install the Primum that carries it before then` +
      (p.info ? " — " + p.info : "");
  }
  const last = u.done && u.done.length ? u.done[u.done.length - 1] : null;
  return last ? `none scheduled; the last, ${last.name}, took effect at height ${last.height} (app version ${last.app_version})` : "none scheduled";
}

// showBlocks lists the latest blocks (what kind of transactions each
// carried, accepted or refused; never who), draws the time between blocks
// as a sparkline, and lists the peers by node id.
function showBlocks(b, byAddress) {
  const txs = blk => blk.types.map(t => {
    const refused = Object.entries(t.refused || {}).map(([code, n]) => n + " refused: " + code.replaceAll("_", " "));
    return (t.accepted ? t.accepted + " × " + t.type : t.type) + (refused.length ? " (" + refused.join(", ") + ")" : "");
  }).join("; ") || "none";
  fill("#blocks", b.blocks.map(blk => [blk.height, new Date(blk.time).toLocaleTimeString(), byAddress[blk.proposer.toUpperCase()] || short(blk.proposer), txs(blk)]));
  // Seconds between consecutive blocks, oldest first.
  const gaps = [];
  for (let i = b.blocks.length - 1; i > 0; i--) gaps.push((new Date(b.blocks[i - 1].time) - new Date(b.blocks[i].time)) / 1000);
  const svg = document.getElementById("sparkline");
  svg.replaceChildren();
  if (gaps.length > 1) {
    const top = Math.max(...gaps, 1);
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", gaps.map((g, i) => (200 * i / (gaps.length - 1)).toFixed(1) + "," + (38 - 36 * g / top).toFixed(1)).join(" "));
    line.setAttribute("class", "spark");
    svg.appendChild(line);
    const avg = gaps.reduce((a, g) => a + g, 0) / gaps.length;
    document.getElementById("block-times").textContent = `Time between the last ${gaps.length + 1} blocks: ${avg.toFixed(1)} s on average, ` +
      `${Math.min(...gaps).toFixed(1)} to ${top.toFixed(1)} s.`;
  }
  document.getElementById("peers").textContent = b.peers.length
    ? `Connected to ${b.peers.length} peer${b.peers.length > 1 ? "s" : ""}: ` + b.peers.map(p => short(p.node_id)).join(", ") + "."
    : "No peers: this node is the only one in its network, or cut off from the others.";
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
      line("Status", i.status + (i.valid_until ? " until " + when(i.valid_until) : ""));
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
