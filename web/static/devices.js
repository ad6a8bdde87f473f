"use strict";
// Devices: a device's batches as the ledger holds them (GET
// /api/v1/devices/{id}/batches, a page at a time), read as the signed-in
// identity, the commands that prove one of its readings offline, and a
// wearable's readings as its keeper keeps them (read as records: the
// patient's own, or under their consent). All text via textContent.
let shown = null; // {id, batches, next, keeper}
let me = null;
const partSize = 1000; // readings a kept record holds (devices.PartSize)
async function showDevice(id) {
  const out = document.getElementById("device-summary");
  out.textContent = "Reading device " + id + "…";
  try {
    const page = await getPage("/api/v1/devices/" + encodeURIComponent(id) + "/batches?limit=100");
    shown = { id, batches: page.items || [], next: page.next, keeper: null };
    try {
      shown.keeper = await get("/api/v1/devices/" + encodeURIComponent(id) + "/keeper");
    } catch (e) {
      if (e.message !== "no_keeper") throw e;
    }
    draw();
  } catch (e) {
    shown = null;
    fill("#batches", []);
    document.getElementById("prove-card").hidden = true;
    document.getElementById("kept-card").hidden = true;
    document.getElementById("more-batches").hidden = true;
    out.textContent = e.message === "unknown_batch"
      ? "No batches of " + id + " that you may read: a device that committed none, or a patient's wearable you have no standing with."
      : e.message === "token_required" ? "Sign in first: devices' batches are read by members and patients." : "Cannot read the device: " + e.message;
  }
}
function draw() {
  const { id, batches, next } = shown;
  const last = batches[batches.length - 1];
  document.getElementById("device-summary").textContent = batches.length
    ? `${batches.length}${next ? "+" : ""} batch${batches.length > 1 ? "es" : ""}: the log holds ${last.size} readings as of batch ${last.seq} (${new Date(last.time).toLocaleString()}). Each batch's proof of consistency with the one before was checked by the ledger: no committed reading was dropped or rewritten.`
    : "No batches yet.";
  fill("#batches", batches.map(b => {
    const root = document.createElement("code");
    root.textContent = b.root.slice(0, 16) + "…";
    root.title = b.root;
    return [b.seq, b.size - b.from, b.size, root, b.height, new Date(b.time).toLocaleString()];
  }));
  document.getElementById("more-batches").hidden = !next;
  drawKept();
  document.getElementById("prove-card").hidden = !last;
  if (last) {
    document.getElementById("prove-commands").textContent =
      `primum devices prove ${id} --log DEVICE.log --index ${last.size - 1} --batch ${last.seq} --from YOUR-KEY --out reading.json\n` +
      `primum devices verify-bundle reading.json --genesis genesis.json`;
  }
}
// drawKept offers the records that keep each batch's readings (the
// keeper's word on the ledger: a record a part of up to 1,000 readings).
async function drawKept() {
  const { id, batches, keeper } = shown;
  const card = document.getElementById("kept-card");
  card.hidden = !keeper || !batches.length;
  if (card.hidden) return;
  const who = await names().catch(() => ({}));
  const summary = document.getElementById("kept-summary");
  summary.textContent = keeper.keeper
    ? `Kept by ${who[keeper.keeper] || keeper.keeper}, named by the patient on ${new Date(keeper.time).toLocaleString()}.`
    : `The patient named no keeper from ${new Date(keeper.time).toLocaleString()}; what was kept before stays kept.`;
  const kept = (await getPage("/api/v1/devices/" + encodeURIComponent(id) + "/kept?limit=1000")).items || [];
  const select = document.getElementById("kept-batch");
  select.replaceChildren(...kept.slice().reverse().flatMap(k => k.records.map((record, part) => {
    const o = document.createElement("option");
    const lo = k.from + part * partSize, hi = Math.min(k.size, lo + partSize);
    o.value = record;
    o.textContent = `Batch ${k.batch}` + (k.records.length > 1 ? `, part ${part + 1} of ${k.records.length}` : "") + ` — readings ${lo}–${hi - 1}`;
    return o;
  })));
  document.getElementById("kept-form").hidden = !kept.length;
  if (!kept.length) summary.textContent += " No batch's readings are kept yet: the device uploads them after its batch (primum devices keep).";
}
document.getElementById("kept-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const msg = document.getElementById("kept-message");
  const table = document.getElementById("readings");
  const record = document.getElementById("kept-batch").value;
  const own = me && shown.keeper && me.id === shown.keeper.owner;
  msg.textContent = "Asking the keeper for the readings…";
  table.hidden = true;
  try {
    const bundle = await readRecord({ id: record }, own ? "patient" : "treatment");
    const obs = (bundle.entry || []).map(e => e.resource).filter(o => o && o.resourceType === "Observation");
    fill("#readings", obs.map(o => {
      const t = fhirText(o);
      return [((o.identifier || [])[0] || {}).value || "", new Date(o.effectiveDateTime).toLocaleString(), t.title, t.value];
    }));
    table.hidden = false;
    msg.textContent = `${obs.length} reading${obs.length === 1 ? "" : "s"}, checked against the record's commitment on the ledger` + (own ? "." : "; this read is on the patient's trail.");
  } catch (e) {
    const refusal = e.problem && e.problem.refusal;
    msg.textContent = refusal === "no_consent" ? "Refused: the patient's consent does not name you for their observations (the refusal is on their trail)."
      : e.problem && e.problem.code === "not_held_here" ? "These readings are kept at the keeper's own node: read them there, or with primum records fetch."
      : e.problem && e.problem.status === 404 ? "The keeper does not hold these readings yet: the device uploads them after its batch (primum devices keep)."
      : "Could not read the readings: " + e.message + (e.problem && e.problem.detail ? " — " + e.problem.detail : "");
  }
});
document.getElementById("device-form").addEventListener("submit", ev => {
  ev.preventDefault();
  const id = document.getElementById("device").value.trim();
  history.replaceState(null, "", "?device=" + encodeURIComponent(id));
  showDevice(id);
});
document.getElementById("more-batches").addEventListener("click", async () => {
  const page = await getPage(shown.next);
  shown.batches = shown.batches.concat(page.items || []);
  shown.next = page.next;
  draw();
});
// showKeepers lists the organisations that keep wearables' readings and
// their quotas (public: GET /api/v1/devices/keepers).
async function showKeepers() {
  const out = document.getElementById("keepers-summary");
  try {
    const list = (await getPage("/api/v1/devices/keepers?limit=1000")).items || [];
    const who = await names().catch(() => ({}));
    const keeping = list.filter(k => k.readings_per_day > 0);
    fill("#keepers", keeping.map(k => [who[k.org] || k.org, k.readings_per_day.toLocaleString(), new Date(k.time).toLocaleString()]));
    out.textContent = keeping.length ? "" : "No organisation keeps wearables' readings yet.";
  } catch (e) {
    out.textContent = "Cannot list the keepers: " + e.message;
  }
}
showKeepers();
signIn(async who => {
  me = who;
  const id = new URLSearchParams(location.search).get("device");
  if (id) {
    document.getElementById("device").value = id;
    await showDevice(id);
  }
});
