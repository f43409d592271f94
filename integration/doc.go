// Package integration drives the built pkfs binary as a user would: each
// script in testdata/*.txtar runs pkfs commands (testscript) on a node path
// of its own, and checks their output and exit codes. Later tiers add real
// FUSE mounts and several agents on loopback.
//
// The test binary also serves two helper commands to the scripts: exits
// (run a command and require an exact exit code) and holdlock (hold a node
// path's lock like another pkfs process would).
package integration
