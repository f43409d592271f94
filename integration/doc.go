// Package integration drives the built pkfs binary as a user would: each
// script in testdata/*.txtar runs pkfs commands (testscript) on a node path
// of its own, and checks their output and exit codes. Later tiers add real
// FUSE mounts and several agents on loopback.
//
// The mount tests (mount_*_test.go) start agents with `pkfs mount
// --background` on a node path of their own (mountNode, in
// mount_harness_test.go) and run real programs on the mount: cp, tar,
// vim, sed, ssh-keygen, sqlite3, find, parallel writers; they kill the
// agent with SIGKILL and check what survived, search the disk for
// plaintext, and feed it bad input. Each test undoes what it started in
// t.Cleanup: mounts unmounted (lazily if need be), agents killed by pid.
//
// The reachability tests (reach_test.go) run agents in Linux network
// namespaces that internal/netlab makes: a public bridge with a seed node,
// NAT routers made with iptables (MASQUERADE, and --random-fully for a
// symmetric NAT), hosts behind them, a LAN bridge. They need root, ip and
// iptables (tcpdump for the capture of a relay's traffic) and skip with
// the reason otherwise; every namespace and process goes in t.Cleanup.
//
// The test binary also serves two helper commands to the scripts: exits
// (run a command and require an exact exit code) and holdlock (hold a node
// path's lock like another pkfs process would).
package integration
