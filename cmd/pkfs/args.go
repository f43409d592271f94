package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs lets flags follow a command's arguments, as in
// `pkfs keys sign FILE --format json`: the library stops parsing flags at
// the first argument, so the flags found after it are moved in front of it.
// Everything from a "--" on is left as it is, and so are the arguments of a
// command group (an unknown subcommand is reported by the group).
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	flags, cmds := app.Flags, app.Commands
	i := 1
	for i < len(args) {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if isFlagToken(a) {
			n := flagTokens(flags, args[i:])
			out = append(out, args[i:i+n]...)
			i += n
			continue
		}
		cmd := findCommand(cmds, a)
		if cmd == nil {
			break
		}
		out = append(out, a)
		flags, cmds = cmd.Flags, cmd.Subcommands
		i++
	}
	if len(cmds) > 0 {
		return append(out, args[i:]...) // a group: no leaf command was found
	}
	var moved, rest []string
	for i < len(args) {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if a == "--help" || a == "-h" {
			return append(out, "--help") // help of the command, whatever its arguments
		}
		if isFlagToken(a) {
			n := flagTokens(flags, args[i:])
			moved = append(moved, args[i:i+n]...)
			i += n
			continue
		}
		rest = append(rest, a)
		i++
	}
	return append(append(out, moved...), rest...)
}

// isFlagToken reports whether a looks like a flag ("-" alone is an argument:
// standard input).
func isFlagToken(a string) bool { return len(a) > 1 && a[0] == '-' }

// flagTokens returns how many tokens the flag at args[0] takes: 2 for a
// flag with a separate value ("--format json"), else 1.
func flagTokens(flags []cli.Flag, args []string) int {
	name := strings.TrimLeft(args[0], "-")
	if strings.Contains(name, "=") {
		return 1
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if v, ok := f.(interface{ TakesValue() bool }); ok && v.TakesValue() && len(args) > 1 {
				return 2
			}
			return 1
		}
	}
	return 1
}

// findCommand returns the command named (or aliased) name, or nil.
func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
