// Command pkfs is the command-line interface of pkfs, a local-first,
// peer-to-peer secrets manager.
//
// Each command group lives in its own file (cmd_init.go, cmd_keys.go, ...)
// with a newXCommand constructor and plain runX functions. Flags common to
// every command are in globals.go, output formats in output.go, escaping of
// text for the terminal in escape.go (all human output and stderr pass
// through it), and the one mapping from error kinds to exit codes in
// exitcodes.go. The same binary, run with a hidden first argument, is the
// watchdog of secrets edit (edit_watchdog.go).
//
// Commands that need an unlocked node go through an agent.Client built by
// newClient, so they behave the same whether they open the node path in this
// process or, later, talk to a running agent.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cryptocore.Harden()
	if len(os.Args) > 1 && os.Args[1] == watchdogArg {
		os.Exit(editWatchdogMain(os.Args[2:]))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	// SIGHUP (the terminal went away) stops a command as SIGTERM does, so
	// that secrets edit removes its copy and a mount unmounts.
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-sigs
		cancel() // the first signal asks the command to stop
		<-sigs
		fmt.Fprintln(os.Stderr, "pkfs: interrupted")
		os.Exit(ExitInterrupted) // the second one does not wait
	}()
	os.Exit(run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run runs the command line args and returns the process's exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	// A command that completed reports success even after a SIGINT: init
	// must still print the recovery code of the node it created.
	if err := app.RunContext(ctx, reorderArgs(app, args)); err != nil {
		var silent *silentError
		if !errors.As(err, &silent) {
			fmt.Fprintf(stderr, "pkfs: %s\n", errorMessage(err))
		}
		return exitCode(err)
	}
	return ExitOK
}

// newApp builds the command tree.
func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	app := &cli.App{
		Name:    "pkfs",
		Usage:   "a local-first, peer-to-peer secrets manager",
		Version: version,
		Reader:  stdin,
		Writer:  stdout,
		// Errors and exit codes are handled by run, never by the library.
		ErrWriter:      stderr,
		ExitErrHandler: func(*cli.Context, error) {},
		Flags:          commonFlags(),
		Commands: append([]*cli.Command{
			newInitCommand(),
			newKeysCommand(),
			newVaultsCommand(),
			newSecretsCommand(),
			newNodesCommand(),
			newIdentitiesCommand(),
			newNotificationsCommand(),
		}, newMountCommands()...),
		HideHelpCommand: true,
	}
	app.Action = groupAction
	app.OnUsageError = onUsageError
	walkCommands(app.Commands, func(c *cli.Command) {
		c.OnUsageError = onUsageError
		if len(c.Subcommands) > 0 {
			c.HideHelpCommand = true
			if c.Action == nil {
				c.Action = groupAction
			}
			return
		}
		c.Flags = append(c.Flags, commonFlags()...)
	})
	return app
}

// walkCommands calls fn for every command of the tree, parents first.
func walkCommands(cmds []*cli.Command, fn func(*cli.Command)) {
	for _, c := range cmds {
		fn(c)
		walkCommands(c.Subcommands, fn)
	}
}

// groupAction runs when a command group is given no known subcommand.
func groupAction(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("unknown command %q (see %s --help)", c.Args().First(), c.Command.HelpName)
	}
	return cli.ShowSubcommandHelp(c)
}

func onUsageError(_ *cli.Context, err error, _ bool) error {
	return usageErrorf("%v", err)
}
