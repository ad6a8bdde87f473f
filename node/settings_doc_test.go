package node_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/primum-health/primum/node"
)

// TestSettingsDocumented: every field of config/primum.json has its row in
// docs/operations.md's table, so the operators' reference stays true.
func TestSettingsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "## `config/primum.json`, field by field")
	if !ok {
		t.Fatal("docs/operations.md has no section on config/primum.json's fields")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	ty := reflect.TypeOf(node.Settings{})
	for i := range ty.NumField() {
		name, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
		if !strings.Contains(table, "`"+name+"`") {
			t.Errorf("%s is not in docs/operations.md's table of config/primum.json", name)
		}
	}
}
