package prove_test

import (
	"encoding/json"
	"testing"

	"github.com/primum-health/primum/client/prove"
)

// FuzzBundle: a proof bundle from anywhere never panics the verifier, and
// none made up verifies against a validator set no one signs with.
func FuzzBundle(f *testing.F) {
	f.Add([]byte(`{"format":"primum-device-reading/1","chain_id":"c","device":"d","index":0,"reading":"01","inclusion":[],"state":{"key":"dev/b/d/00000000000000000001","value":"e30=","exists":true,"height":1,"proof":"","app_hash":"00"},"light_block":""}`))
	f.Add([]byte(`{"format":"x"}`))
	f.Add([]byte(`{"format":"primum-device-reading/1","reading":"0100000000696b4a000002418200000000000001c20","state":{"exists":true,"value":"eyJkZXZpY2UiOiJkIiwic2VxIjoxLCJzaXplIjoxLCJyb290IjoiMDAifQ=="}}`))
	trusted := make([]byte, 32)
	f.Fuzz(func(t *testing.T, data []byte) {
		var b prove.Bundle
		if json.Unmarshal(data, &b) != nil {
			return
		}
		if c, err := prove.VerifyBundle(&b, b.ChainID, trusted); err == nil {
			t.Fatalf("a made-up bundle verified: %+v", c)
		}
	})
}
