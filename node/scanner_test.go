package node_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/datamatrix"
	"github.com/chromedp/chromedp"

	"github.com/primum-health/primum/supply"
)

// TestScanWithTheCamera: the verify page reads a pack's DataMatrix from
// the camera and verifies it, with the decoder it serves itself (nothing
// from outside the node). Chromium's fake camera plays a picture of the
// code; the page fills the field with what it read and shows the ledger's
// verdict for that pack.
func TestScanWithTheCamera(t *testing.T) {
	n, c, m := startSupplyNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	maker := m["manufacturer"]
	sendAll(ctx, t, c, []step{
		{maker, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: testGTIN, Name: "Amoxicillin", Form: "capsule", Strength: "500 mg"}},
		{maker, supply.TypeCommission, supply.Commission{GTIN: testGTIN, Lot: "CAM", Expiry: "2030-01-31", Serials: []string{"C1"}}},
	})
	const code = "(01)09506000134352(21)C1"
	video := filepath.Join(t.TempDir(), "pack.mjpeg")
	if err := os.WriteFile(video, mjpegOf(t, code), 0o600); err != nil {
		t.Fatal(err)
	}
	var want supply.Verdict
	if err := c.Get(ctx, "/api/v1/verify?code="+url.QueryEscape(code), &want); err != nil {
		t.Fatal(err)
	}
	b := browser(t, chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", video))
	var read, verdict string
	if err := chromedp.Run(b,
		chromedp.Navigate(n.APIURL()+"/verify.html"),
		chromedp.WaitVisible("#camera-start"),
		chromedp.Click("#camera-start"),
		chromedp.Poll(`document.getElementById("verdict").dataset.verdict !== undefined && !document.getElementById("result").hidden`, nil),
		chromedp.Value("#code", &read),
		chromedp.AttributeValue("#verdict", "data-verdict", &verdict, nil),
		chromedp.Click("#camera-stop"),
		chromedp.WaitVisible("#camera-start"),
	); err != nil {
		t.Fatal(err)
	}
	if read != code || verdict != want.Verdict {
		t.Fatalf("the camera read %q with verdict %q; want %q, %q", read, verdict, code, want.Verdict)
	}
}

// mjpegOf is a few seconds of video (Motion JPEG, as Chromium's fake
// camera plays it) of a DataMatrix of text on a white page.
func mjpegOf(t *testing.T, text string) []byte {
	t.Helper()
	dm, err := datamatrix.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	side := dm.Bounds().Dx() * 10
	sym, err := barcode.Scale(dm, side, side)
	if err != nil {
		t.Fatal(err)
	}
	frame := image.NewRGBA(image.Rect(0, 0, 640, 480))
	draw.Draw(frame, frame.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	at := image.Pt((640-side)/2, (480-side)/2)
	draw.Draw(frame, sym.Bounds().Add(at), sym, image.Point{}, draw.Src)
	var one bytes.Buffer
	if err := jpeg.Encode(&one, frame, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat(one.Bytes(), 60)
}
