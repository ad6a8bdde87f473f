//go:build !unix

package node

// diskCheck: not read on this system.
func diskCheck(home string) Check {
	return Check{Name: "disk", Status: CheckWarn, Detail: "the free space is not read on this system: check it by hand"}
}
