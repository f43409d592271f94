package fs

import (
	"testing"

	"github.com/hanwen/go-fuse/v2/posixtest"
)

// posixSkips are go-fuse posixtest cases that test what a vault refuses by
// design, each with the reason.
var posixSkips = map[string]string{
	"Link":             "hard links are EPERM by design",
	"LinkUnlinkRename": "hard links are EPERM by design",
	"NlinkZero":        "needs hard links",
	"XAttr":            "vaults keep no extended attributes (ENOTSUP)",
	"XAttrLarge":       "vaults keep no extended attributes (ENOTSUP)",
	"FileBasic":        "expects mode 0755 back; vaults show 0600/0700 by design (only the executable bit is kept)",
	"FcntlFlockLocksFile": "expects a lock conflict between two fds of one process; POSIX record locks are " +
		"kept by the kernel, per process, as on a local filesystem",
}

// go-fuse's POSIX conformance suite, run in a vault of an in-process mount.
func TestPosix(t *testing.T) {
	for name, fn := range posixtest.All {
		t.Run(name, func(t *testing.T) {
			if why, ok := posixSkips[name]; ok {
				t.Skip(why)
			}
			h := mount(t)
			fn(t, h.vault(t, "posix"))
		})
	}
}
