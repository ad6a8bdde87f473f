"use strict";
// Devices: a device's batches as the ledger holds them (GET
// /api/v1/devices/{id}/batches, a page at a time), read as the signed-in
// identity, and the commands that prove one of its readings offline. All
// text via textContent.
let shown = null; // {id, batches, next}
async function showDevice(id) {
  const out = document.getElementById("device-summary");
  out.textContent = "Reading device " + id + "…";
  try {
    const page = await getPage("/api/v1/devices/" + encodeURIComponent(id) + "/batches?limit=100");
    shown = { id, batches: page.items || [], next: page.next };
    draw();
  } catch (e) {
    shown = null;
    fill("#batches", []);
    document.getElementById("prove-card").hidden = true;
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
  document.getElementById("prove-card").hidden = !last;
  if (last) {
    document.getElementById("prove-commands").textContent =
      `primum devices prove ${id} --log DEVICE.log --index ${last.size - 1} --batch ${last.seq} --from YOUR-KEY --out reading.json\n` +
      `primum devices verify-bundle reading.json --genesis genesis.json`;
  }
}
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
signIn(async () => {
  const id = new URLSearchParams(location.search).get("device");
  if (id) {
    document.getElementById("device").value = id;
    await showDevice(id);
  }
});
