// Package agent is the composition root of a running node: it opens the node
// path, unlocks the keyring, opens the store and the vaults, and serves every
// CLI command, either in-process (no agent running) or over the control
// socket of a running agent.
//
// # Calls
//
// A command is a Call: a method name ("vaults.create"), JSON parameters, an
// optional input stream (stdin of `secrets write`) and an optional output
// stream (stdout of `secrets cat`). It returns a JSON-encodable result or an
// error. The same handlers serve both transports, so a command behaves the
// same with or without an agent.
//
// # Errors
//
// Errors cross the socket as a Kind (a stable string) and a message; Kind
// classifies local errors the same way, so cmd/pkfs maps both to the same
// exit code in one place.
//
// # Callers of the socket
//
// Every process of the user's uid may call the socket (SO_PEERCRED), so no
// method hands out key material (root key, seed, data key, vault keys), and
// the one method that alters it, keys.password, needs the current password,
// checked by the keyring through a gate that serialises checks and slows
// down after wrong ones (password_gate.go). docs/local-trust.md says what
// such a process can and cannot do.
package agent
