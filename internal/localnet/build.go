package localnet

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Command is the import path of the primum command.
const Command = "github.com/primum-health/primum/cmd/primum"

// build is one variant of the command, built once per process.
type build struct {
	once sync.Once
	path string
	err  error
}

var builds sync.Map // name -> *build

// Build builds the primum command once per process (a test binary's run)
// with extra go build flags (a test variant: -tags byzantine, an -overlay)
// and answers the binary's path; name tells the variants apart. It runs go
// build in the current folder, which must be inside the module.
func Build(name string, flags ...string) (string, error) {
	v, _ := builds.LoadOrStore(name, &build{})
	b := v.(*build)
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "primum-bin")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, name)
		args := append(append([]string{"build", "-o", b.path}, flags...), Command)
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	return b.path, b.err
}
