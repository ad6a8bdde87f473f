"use strict";
// The member's own key, held by this browser: an Ed25519 key in WebCrypto,
// not extractable, kept in IndexedDB. The node never sees it: requests are
// signed here (RFC 9421 HTTP Message Signatures) and so are transactions
// (Primum's envelope, docs/architecture.md). A key made here is offered
// once as a passphrase-encrypted backup file, the way to a second device.

const enc = new TextEncoder();
const hex = b => [...new Uint8Array(b)].map(x => x.toString(16).padStart(2, "0")).join("");
const unhex = s => new Uint8Array(s.match(/../g).map(x => parseInt(x, 16)));
const b64 = b => btoa(String.fromCharCode(...new Uint8Array(b)));
const unb64 = s => Uint8Array.from(atob(s), c => c.charCodeAt(0));
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};

// PKCS#8 wrapping of a 32-byte Ed25519 seed (RFC 8410).
const pkcs8Prefix = unhex("302e020100300506032b657004220420");

const keyStore = {
  db() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open("primum", 1);
      req.onupgradeneeded = () => req.result.createObjectStore("keys");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  },
  async run(mode, fn) {
    const db = await this.db();
    return new Promise((resolve, reject) => {
      const tx = db.transaction("keys", mode);
      const req = fn(tx.objectStore("keys"));
      tx.oncomplete = () => resolve(req && req.result);
      tx.onerror = () => reject(tx.error);
    });
  },
  get() { return this.run("readonly", s => s.get("me")); },
  put(v) { return this.run("readwrite", s => s.put(v, "me")); },
  remove() { return this.run("readwrite", s => s.delete("me")); },
};

// fromSeed imports a seed as a non-extractable signing key and checks it
// against the public key it claims to be. mac, an HMAC key of the same
// seed (not extractable either), derives the patient's pairwise keys.
async function fromSeed(seed, pubHex) {
  const priv = await crypto.subtle.importKey("pkcs8", concat(pkcs8Prefix, seed), { name: "Ed25519" }, false, ["sign"]);
  const pub = await crypto.subtle.importKey("raw", unhex(pubHex), { name: "Ed25519" }, true, ["verify"]);
  const probe = enc.encode("primum/key-check");
  if (!await crypto.subtle.verify({ name: "Ed25519" }, pub, await crypto.subtle.sign({ name: "Ed25519" }, priv, probe), probe)) {
    throw new Error("the key file's private key does not match its public key");
  }
  const mac = await crypto.subtle.importKey("raw", seed, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return { priv, pub: pubHex, mac };
}

// pubOf is the public key (hex) of a seed, read through an extractable
// copy that is dropped at once (only its x is kept; WebCrypto has no other
// way to a private key's public half).
async function pubOf(seed) {
  const der = concat(pkcs8Prefix, seed);
  try {
    const k = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
    const { x } = await crypto.subtle.exportKey("jwk", k);
    return hex(unb64(x.replace(/-/g, "+").replace(/_/g, "/")));
  } finally { der.fill(0); }
}

// Backups: the seed sealed with AES-256-GCM under a key derived from the
// passphrase (PBKDF2-SHA256, 600,000 iterations).
async function backupKey(passphrase, salt) {
  const base = await crypto.subtle.importKey("raw", enc.encode(passphrase), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt, iterations: 600000 }, base,
    { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

const myKey = {
  current: null, // { priv: CryptoKey, pub: hex }
  epoch: 0, // counts the changes made here (create, import, forget)

  // load reads the key this browser holds (another tab may have changed
  // it). A change made here while the read was under way wins: a file
  // chosen, or a key removed, as the page opens must not be undone by the
  // page's first look at IndexedDB.
  async load() {
    const epoch = this.epoch;
    const stored = (await keyStore.get()) || null;
    if (epoch === this.epoch) this.current = stored;
    return this.current;
  },

  // create makes a new key in this browser and returns the encrypted
  // backup file's text (the only time the seed exists outside WebCrypto).
  async create(passphrase) {
    if (!passphrase || passphrase.length < 8) throw new Error("choose a passphrase of at least 8 characters for the backup");
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    const seed = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)).slice(16);
    const pub = hex(await crypto.subtle.exportKey("raw", pair.publicKey));
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await backupKey(passphrase, salt), seed);
    const backup = JSON.stringify({ kind: "primum-key-backup", version: 1, public_key: pub, kdf: "pbkdf2-sha256", iterations: 600000,
      salt: b64(salt), iv: b64(iv), ciphertext: b64(sealed) }, null, 2);
    this.epoch++;
    this.current = await fromSeed(seed, pub);
    seed.fill(0);
    await keyStore.put(this.current);
    return backup;
  },

  // import reads a key file: a Primum key file (primum keys, the demo's
  // people) or a backup made here (with its passphrase).
  async import(text, passphrase) {
    const f = JSON.parse(text);
    let seed;
    if (f.kind === "primum-key-backup") {
      const key = await backupKey(passphrase || "", unb64(f.salt));
      try {
        seed = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: unb64(f.iv) }, key, unb64(f.ciphertext)));
      } catch (e) { throw new Error("wrong passphrase, or the backup is damaged"); }
    } else if (f.private_key && !f.encrypted) {
      seed = unhex(f.private_key);
    } else if (f.encrypted) {
      throw new Error("this key file is encrypted for the command line (argon2id), which browsers cannot open: use it with primum --from, or create a key in this page");
    } else {
      throw new Error("not a Primum key file");
    }
    if (seed.length !== 32) throw new Error("not a 32-byte Ed25519 seed");
    this.epoch++;
    this.current = await fromSeed(seed, f.public_key);
    seed.fill(0);
    // Where the key's holder has pseudonyms (a patient's key file lists them).
    this.current.pseudonyms = Array.isArray(f.pseudonyms) ? f.pseudonyms.filter(o => /^[0-9a-f]{40}$/.test(o)) : [];
    await keyStore.put(this.current);
    return this.current;
  },

  async forget() { this.epoch++; this.current = null; this.derived = {}; await keyStore.remove(); },

  // derive is the patient's pseudonym key for one institution (Go:
  // identity.PairwiseKey): an Ed25519 key whose seed is the HMAC-SHA256,
  // under the patient's own seed, of the chain and the institution's id.
  // Members reading the ledger cannot link two institutions' pseudonyms;
  // this browser, holding the one key, signs as each.
  derived: {},
  async derive(chainID, custodian) {
    if (!this.current.mac) throw new Error("this browser kept your key before pseudonyms per institution: sign in once with your key file or backup again");
    const id = this.current.pub + "\0" + chainID + "\0" + custodian;
    if (!this.derived[id]) {
      const seed = new Uint8Array(await crypto.subtle.sign("HMAC", this.current.mac, enc.encode("primum/pairwise/v1\0" + chainID + "\0" + custodian)));
      const der = concat(pkcs8Prefix, seed);
      try {
        const priv = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
        this.derived[id] = { priv, pub: await pubOf(seed), custodian };
      } finally { seed.fill(0); der.fill(0); }
    }
    return this.derived[id];
  },

  // remember records that the patient holds a pseudonym at custodian, with
  // the key in this browser: finding them then asks the node about no other
  // institution (asking about one shows the node the key for it).
  async remember(custodian) {
    const list = this.current.pseudonyms || [];
    if (list.includes(custodian)) return;
    this.current.pseudonyms = list.concat([custodian]);
    await keyStore.put(this.current);
  },

  sign(bytes, k) { return crypto.subtle.sign({ name: "Ed25519" }, (k || this.current).priv, bytes); },

  // signRequest returns the headers that sign a request (RFC 9421, label
  // "primum"; see docs/api.md), with k (a derived key) or the key itself.
  async signRequest(method, url, body, k) {
    k = k || this.current;
    const u = new URL(url, location.href);
    const lines = [`"@method": ${method.toUpperCase()}`, `"@authority": ${u.host.toLowerCase()}`, `"@path": ${u.pathname}`, `"@query": ?${u.search.slice(1)}`];
    let covered = `"@method" "@authority" "@path" "@query"`;
    const headers = {};
    if (body && body.length) {
      const digest = "sha-256=:" + b64(await crypto.subtle.digest("SHA-256", body)) + ":";
      headers["Content-Digest"] = digest;
      lines.push(`"content-digest": ${digest}`);
      covered += ` "content-digest"`;
    }
    const params = `(${covered});created=${Math.floor(Date.now() / 1000)};keyid="${k.pub}";alg="ed25519";nonce="${hex(crypto.getRandomValues(new Uint8Array(16)))}"`;
    lines.push(`"@signature-params": ${params}`);
    headers["Signature-Input"] = "primum=" + params;
    headers["Signature"] = "primum=:" + b64(await this.sign(enc.encode(lines.join("\n")), k)) + ":";
    return headers;
  },

  // envelope builds and signs a transaction (envelope.Build): version 1,
  // then length-prefixed chain id, the public key, the nonce, the type and
  // the JSON body (uvarints), then the signature of "primum/tx/v1\0" and
  // all that.
  async envelope(chainID, nonce, type, body, k) {
    k = k || this.current;
    const uvarint = n => { const out = []; while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80); } out.push(n); return new Uint8Array(out); };
    const field = b => concat(uvarint(b.length), b);
    const unsigned = concat(new Uint8Array([1]), field(enc.encode(chainID)), unhex(k.pub), uvarint(nonce),
      field(enc.encode(type)), field(enc.encode(JSON.stringify(body))));
    const sig = new Uint8Array(await this.sign(concat(enc.encode("primum/tx/v1\0"), unsigned), k));
    return concat(unsigned, sig);
  },
};
