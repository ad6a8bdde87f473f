"use strict";
// showCode draws text as a QR code in an <img> (vendor/qrcode-generator,
// error correction M) and sets the link beside it, for a phone's camera
// to open and for copying.
function showCode(img, link, text) {
  const q = qrcode(0, "M");
  q.addData(text);
  q.make();
  img.src = q.createDataURL(5, 4);
  link.href = text;
  link.textContent = text;
}
