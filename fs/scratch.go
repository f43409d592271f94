package fs

import "strings"

// scratchName reports whether a file name is an editor's scratch file: vim
// and nano swap files (.name.swp, .swo, … and vim's .swpx/.swx probes), vim's
// "4913" write probe, emacs lock (.#name) and auto-save (#name#) files.
// Such files hold the plaintext being edited, change at every keystroke
// pause, and mean nothing once the editor exits: they live in the mount's
// memory only, are never committed, never replicated, and are gone when the
// agent stops. Renaming one to an ordinary name commits it.
func scratchName(name string) bool {
	switch {
	case name == "4913":
		return true
	case strings.HasPrefix(name, ".#"):
		return true
	case len(name) > 2 && name[0] == '#' && name[len(name)-1] == '#':
		return true
	case len(name) > 6 && name[0] == '.' && strings.HasSuffix(name, ".swpx"):
		return true // vim's probe before it makes the swap file
	case len(name) > 5 && name[0] == '.':
		ext := name[len(name)-4:]
		return ext == ".swx" || (ext[:3] == ".sw" && ext[3] >= 'a' && ext[3] <= 'p')
	}
	return false
}
