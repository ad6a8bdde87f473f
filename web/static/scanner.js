"use strict";
// Camera scanning on the verify page: a pack's DataMatrix (or a case's,
// an asset's) read from the device's camera — a phone's back camera, a
// webcam at the counter — by zxing-cpp compiled to WebAssembly, vendored
// with this page (vendor/zxing-wasm: it works offline, inside a hospital
// network). Each code read fills the field and is verified as a
// keyboard-wedge scanner's would be; the same code is not verified again
// until another has been read or 3 s have passed, so holding a pack in
// view does not repeat its verdict.
const scanner = {
  stream: null,
  timer: null,
  last: "",
  lastAt: 0,
  busy: false,
  canvas: document.createElement("canvas"),

  async start() {
    const note = document.getElementById("camera-note");
    const button = document.getElementById("camera-start");
    if (this.stream || button.disabled) return; // one camera at a time
    button.disabled = true;
    try { await this.open(note); } finally { button.disabled = false; }
  },

  async open(note) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      note.textContent = "This browser offers no camera to this page (it needs https, or localhost).";
      return;
    }
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: { ideal: 1280 } }, audio: false });
    } catch (e) {
      note.textContent = e.name === "NotAllowedError" ? "The camera was not allowed: allow it in the browser's site settings, or type or scan the code."
        : "No camera could be opened (" + e.name + "): type or scan the code.";
      return;
    }
    ZXingWASM.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => path.endsWith(".wasm") ? "vendor/zxing-wasm/" + path : prefix + path },
    });
    const video = document.getElementById("camera");
    video.srcObject = this.stream;
    video.hidden = false;
    await video.play();
    document.getElementById("camera-start").hidden = true;
    document.getElementById("camera-stop").hidden = false;
    note.textContent = "Hold the pack's code in view.";
    this.timer = setInterval(() => this.read(video), 200);
  },

  stop() {
    clearInterval(this.timer);
    if (this.stream) this.stream.getTracks().forEach(t => t.stop());
    this.stream = null;
    const video = document.getElementById("camera");
    video.srcObject = null;
    video.hidden = true;
    document.getElementById("camera-start").hidden = false;
    document.getElementById("camera-stop").hidden = true;
    document.getElementById("camera-note").textContent = "";
  },

  // read looks for a code in the current frame (one at a time: a frame
  // still being read skips the next).
  async read(video) {
    if (this.busy || !video.videoWidth) return;
    // While a verdict offers to dispense, the camera does not replace it:
    // a pack coming into view just before the click would be dispensed in
    // place of the one handed out. Dispense, or press "Next pack".
    const note = document.getElementById("camera-note");
    if (!document.getElementById("dispense-row").hidden) {
      note.textContent = "Paused while this pack can be dispensed: dispense it, or press Next pack.";
      return;
    }
    this.busy = true;
    try {
      this.canvas.width = video.videoWidth;
      this.canvas.height = video.videoHeight;
      const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(video, 0, 0);
      const found = await ZXingWASM.readBarcodes(ctx.getImageData(0, 0, this.canvas.width, this.canvas.height),
        { formats: ["DataMatrix", "QRCode", "DataBarExpanded", "Code128"], tryHarder: true, maxNumberOfSymbols: 1 });
      const hit = found.find(r => r.text && !r.error);
      if (!hit) return;
      // The reader's text is the human-readable interpretation: a GS1
      // symbol as (01)…(21)…, a control character as <GS>; the verify
      // route reads both.
      const code = hit.text;
      const now = Date.now();
      if (code === this.last && now - this.lastAt < 3000) return;
      this.last = code;
      this.lastAt = now;
      document.getElementById("code").value = code;
      note.textContent = "Read a " + hit.format + " code.";
      document.getElementById("verify-form").requestSubmit();
    } catch (e) {
      this.stop();
      document.getElementById("camera-note").textContent = "Cannot read the camera's picture: " + e.message;
    } finally {
      this.busy = false;
    }
  },
};
document.getElementById("camera-start").addEventListener("click", () => scanner.start());
// A camera is not left running in a tab nobody looks at.
document.addEventListener("visibilitychange", () => { if (document.hidden && scanner.stream) scanner.stop(); });
window.addEventListener("pagehide", () => { if (scanner.stream) scanner.stop(); });
document.getElementById("camera-stop").addEventListener("click", () => scanner.stop());
