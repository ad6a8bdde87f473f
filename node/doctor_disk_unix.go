//go:build unix

package node

import (
	"fmt"
	"strconv"
	"syscall"
)

// diskCheck: the free space of the home's file system.
func diskCheck(home string) Check {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(home, &fs); err != nil {
		return Check{Name: "disk", Status: CheckWarn, Detail: fmt.Sprintf("cannot read the free space of %s: %v", home, err)}
	}
	free, total := fs.Bavail*uint64(fs.Bsize), fs.Blocks*uint64(fs.Bsize)
	gib := func(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<30), 'f', 1, 64) + " GiB" }
	switch {
	case free < doctorDiskFail:
		return Check{Name: "disk", Status: CheckFail, Detail: fmt.Sprintf("%s free of %s: the node stops when its disk fills; free space or move the home", gib(free), gib(total))}
	case free < doctorDiskWarn:
		return Check{Name: "disk", Status: CheckWarn, Detail: fmt.Sprintf("%s free of %s: plan more space (docs/operations.md gives the growth per block)", gib(free), gib(total))}
	}
	return Check{Name: "disk", Status: CheckOK, Detail: fmt.Sprintf("%s free of %s", gib(free), gib(total))}
}
