"use strict";
// Helpers shared by the portal pages. A member signs in with the API token
// the node holds for their key; the token stays in this tab's session.
const token = () => sessionStorage.getItem("primum-token") || "";

async function api(path, opts = {}) {
  const headers = Object.assign({ "Content-Type": "application/json" }, opts.headers || {});
  if (token()) headers["Authorization"] = "Bearer " + token();
  const r = await fetch(path, Object.assign({}, opts, { headers }));
  const text = await r.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = text; }
  if (!r.ok) {
    const err = new Error((body && (body.refusal || body.code)) || r.statusText);
    err.problem = body || {};
    throw err;
  }
  return body;
}
const get = path => api(path);
const post = (path, body) => api(path, { method: "POST", body: JSON.stringify(body) });
const act = (type, body) => post("/api/v1/act", { type, body });

// fill replaces a table's rows; a cell is a value, or {text, cls} or a Node.
function fill(table, rows, rowClass) {
  const tbody = document.querySelector(table + " tbody");
  tbody.replaceChildren();
  rows.forEach((cells, i) => {
    const tr = document.createElement("tr");
    if (rowClass) { const c = rowClass(i); if (c) tr.className = c; }
    for (const c of cells) {
      const td = document.createElement("td");
      if (c instanceof Node) td.appendChild(c);
      else if (c && typeof c === "object") { td.textContent = c.text; if (c.cls) td.className = c.cls; }
      else td.textContent = c == null ? "" : String(c);
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
  });
}

function button(label, onclick, cls) {
  const b = document.createElement("button");
  b.textContent = label;
  if (cls) b.className = cls;
  b.addEventListener("click", onclick);
  return b;
}

let namesCache = null;
async function names() {
  if (!namesCache) {
    namesCache = {};
    for (const i of await get("/api/v1/identities")) {
      namesCache[i.id] = i.name || (i.kind === "practitioner" ? i.profession + " " + i.licence : i.kind + " " + i.id.slice(0, 8));
    }
  }
  return namesCache;
}
const when = t => t ? new Date(t).toLocaleString() : "";

// signIn wires a sign-in form; onReady(me) runs once signed in.
function signIn(onReady) {
  const form = document.getElementById("signin");
  const out = document.getElementById("signin-error");
  async function start() {
    try {
      const me = await get("/api/v1/me");
      document.getElementById("who").textContent = me.kind + " " + me.id;
      form.hidden = true;
      document.getElementById("signed-in").hidden = false;
      await onReady(me);
    } catch (e) {
      sessionStorage.removeItem("primum-token");
      out.textContent = "Sign-in failed: " + e.message;
    }
  }
  form.addEventListener("submit", ev => {
    ev.preventDefault();
    sessionStorage.setItem("primum-token", document.getElementById("token").value.trim());
    start();
  });
  document.getElementById("signout").addEventListener("click", () => { sessionStorage.removeItem("primum-token"); location.reload(); });
  if (token()) start();
}
