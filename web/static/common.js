"use strict";
// Helpers shared by the portal pages. A member signs in with their own key,
// held by this browser (keys.js: every request and transaction is signed
// here, the node never sees the key), or with an API token naming a key the
// node holds (integrations, the demo's shortcuts; the token stays in this
// tab's session).
const token = () => sessionStorage.getItem("primum-token") || "";

// Every form here is handled by the page's script: none is ever sent by
// the browser itself (a click before the script has wired a form would
// otherwise reload the page and lose what was typed).
document.addEventListener("submit", ev => ev.preventDefault(), true);
const withKey = () => typeof myKey !== "undefined" && myKey.current && sessionStorage.getItem("primum-signed-in") === "key";

async function api(path, opts = {}) {
  const headers = Object.assign({ "Content-Type": "application/json" }, opts.headers || {});
  if (withKey() || (opts.asKey && typeof myKey !== "undefined" && myKey.current)) {
    Object.assign(headers, await myKey.signRequest(opts.method || "GET", path, opts.body ? enc.encode(opts.body) : null, opts.key));
  } else if (token()) {
    headers["Authorization"] = "Bearer " + token();
  }
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
// keyInfo reads what the ledger says of the key this browser holds (or of
// k, a pseudonym's key derived from it), asked as its holder (signed with
// it, signed in or not): a patient's key is described to no one else.
const keyInfo = k => api("/api/v1/keys/" + (k || myKey.current).pub, { asKey: true, key: k });
// getPage reads one page of a paged listing: its items, and the path of
// the next page from the Link header (null: it was the last). k signs
// instead of the key itself (a pseudonym's).
async function getPage(path, k) {
  const headers = {};
  if (withKey()) Object.assign(headers, await myKey.signRequest("GET", path, null, k));
  else if (token()) headers["Authorization"] = "Bearer " + token();
  const r = await fetch(path, { headers });
  const body = await r.json().catch(() => null);
  if (!r.ok) {
    const err = new Error((body && (body.refusal || body.code)) || r.statusText);
    err.problem = body || {};
    throw err;
  }
  const m = /<([^>]*)>;\s*rel="next"/.exec(r.headers.get("Link") || "");
  return { items: body, next: m ? m[1] : null };
}
// getAll reads every page of a paged listing, one request a page.
async function getAll(path, k) {
  let items = [];
  for (let next = path; next;) {
    const page = await getPage(next, k);
    items = items.concat(page.items);
    next = page.next;
  }
  return items;
}
// post sends a JSON body, signed as get's requests are (k: as a pseudonym,
// so that the node is not shown which key it belongs to).
const post = (path, body, k) => api(path, { method: "POST", body: JSON.stringify(body), key: k });
// act sends a transaction as the signed-in member: signed here with their
// key (or k, one of their pseudonyms'), or by the node with the key their
// token names.
async function act(type, body, k) {
  if (!withKey()) return post("/api/v1/act", { type, body });
  const info = await keyInfo(k);
  const raw = await myKey.envelope(info.chain_id, info.nonce, type, body, k);
  return post("/api/v1/txs?wait=true", { tx: b64(raw) }, k);
}

// fill replaces a table's rows; a cell is a value, or {text, cls} or a Node.
// Rows the same as those shown are left alone: a refresh every few seconds
// must not take the keyboard focus or the selection away.
function fill(table, rows, rowClass) {
  const tbody = document.querySelector(table + " tbody");
  const sig = JSON.stringify(rows.map((cells, i) => [rowClass ? rowClass(i) : "", cells.map(c =>
    c instanceof Node ? "node:" + c.textContent : c && typeof c === "object" ? [c.text, c.cls] : c)]));
  if (tbody.dataset.sig === sig) return;
  tbody.dataset.sig = sig;
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

// signInRefusal says why a sign-in failed. The node answers a token it
// does not know as it answers no token at all (token_required: it tells no
// one which tokens exist), which read as if none had been typed.
function signInRefusal(e, typedToken) {
  if (e.message === "token_required") {
    return typedToken ? "that token is not valid on this node: check it, or ask this node's operator for one."
      : "enter your access token, or sign in with your key.";
  }
  if (e.message === "token_expired") return "that token has expired or was revoked: ask this node's operator for a new one.";
  if (e.message === "token_scope") return "that token is an integration's: it does not allow signing in here.";
  if (e.message === "retired_key") return "this key was replaced by a newer one (the key was rotated): sign in with your new key file.";
  return e.message;
}

// signIn wires a sign-in form; onReady(me) runs once signed in. With
// keys.js on the page the form offers the browser's own key (made here,
// or imported from a key file or a backup) before a token.
function signIn(onReady) {
  const form = document.getElementById("signin");
  const out = document.getElementById("signin-error");
  const keyForm = document.getElementById("key-signin");
  async function start() {
    try {
      const me = await get("/api/v1/me");
      const named = me.name || (me.kind === "practitioner" ? me.profession + " " + me.licence : "");
      document.getElementById("who").textContent = (named ? named + " (" + me.kind + ")" : me.kind + " " + me.id) + (withKey() ? " (your key, in this browser)" : "");
      form.hidden = true;
      if (keyForm) keyForm.hidden = true;
      document.getElementById("signed-in").hidden = false;
      await onReady(me);
    } catch (e) {
      const typed = sessionStorage.getItem("primum-signed-in") !== "key" && token();
      sessionStorage.removeItem("primum-token");
      sessionStorage.removeItem("primum-signed-in");
      out.textContent = "Sign-in failed: " + signInRefusal(e, typed);
    }
  }
  form.addEventListener("submit", ev => {
    ev.preventDefault();
    sessionStorage.removeItem("primum-signed-in");
    sessionStorage.setItem("primum-token", document.getElementById("token").value.trim());
    start();
  });
  document.getElementById("signout").addEventListener("click", () => {
    sessionStorage.removeItem("primum-token");
    sessionStorage.removeItem("primum-signed-in");
    location.reload();
  });
  if (keyForm) wireKeySignIn(keyForm, start, out);
  if (sessionStorage.getItem("primum-signed-in") === "key") {
    myKey.load().then(k => k ? start() : sessionStorage.removeItem("primum-signed-in"));
  } else if (token()) start();
}

// wireKeySignIn: use the key this browser holds, import a key file, or make
// a new key (then onNew registers it, e.g. as a patient).
function wireKeySignIn(keyForm, start, out) {
  keyForm.addEventListener("submit", ev => ev.preventDefault()); // Enter in a field: nothing to send

  const useKey = () => { sessionStorage.setItem("primum-signed-in", "key"); sessionStorage.removeItem("primum-token"); return start(); };
  const held = document.getElementById("key-held");
  myKey.load().then(k => {
    held.hidden = !k;
    if (k) document.getElementById("key-held-id").textContent = k.pub.slice(0, 16) + "…";
  });
  document.getElementById("key-use").addEventListener("click", ev => { ev.preventDefault(); useKey(); });
  document.getElementById("key-forget").addEventListener("click", async ev => {
    ev.preventDefault();
    if (!confirm("Remove your key from this browser? Without a backup file you cannot sign in as this person again.")) return;
    await myKey.forget();
    held.hidden = true;
  });
  document.getElementById("key-file").addEventListener("change", async ev => {
    const file = ev.target.files[0];
    if (!file) return;
    try {
      const text = await file.text();
      const needs = JSON.parse(text).kind === "primum-key-backup";
      await myKey.import(text, needs ? document.getElementById("key-passphrase").value : "");
      await useKey();
    } catch (e) { out.textContent = "Cannot use that key file: " + e.message; }
  });
  const create = document.getElementById("key-create");
  if (create) create.addEventListener("click", async ev => {
    ev.preventDefault();
    try {
      // A key this browser made before that is not registered yet (its
      // voucher was missing) is registered now, not replaced.
      let held = await myKey.load();
      let info = held && await keyInfo();
      if (held && info.identity &&
          !confirm("This browser already holds a registered key. Replace it with a new one? Without that key's backup you cannot sign in as that person again.")) return;
      if (!held || info.identity) {
        const backup = await myKey.create(document.getElementById("key-passphrase").value);
        const a = document.getElementById("key-backup");
        a.href = URL.createObjectURL(new Blob([backup], { type: "application/json" }));
        a.download = "primum-key-backup.json";
        a.textContent = "download primum-key-backup.json";
        document.getElementById("key-backup-note").hidden = false; // outside the sign-in form: still shown once signed in
        info = await keyInfo();
      }
      if (!info.identity) {
        sessionStorage.setItem("primum-signed-in", "key");
        const v = document.getElementById("key-voucher");
        const body = v && v.value.trim() ? { voucher: v.value.trim() } : {};
        try {
          await act(create.dataset.registers, body);
        } catch (e) {
          sessionStorage.removeItem("primum-signed-in");
          out.textContent = e.message === "voucher_required"
            ? "Your key is made and kept in this browser. To enrol you need a voucher from a hospital, clinic or pharmacy: enter its code and press the button again."
            : e.message === "voucher_unknown"
            ? "That voucher was never issued, or was used already: check the code, or ask the hospital, clinic or pharmacy that gave it for a new one. Your key is kept in this browser."
            : "Your key is made, but enrolling failed: " + e.message;
          return;
        }
      }
      await useKey();
    } catch (e) { out.textContent = "Cannot make a key: " + e.message; }
  });
}
