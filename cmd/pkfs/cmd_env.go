package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/urfave/cli/v2"
)

func newSecretsEnvCommand() *cli.Command {
	return &cli.Command{
		Name:      "env",
		Usage:     "turn secrets into environment variables: run a command with them, or print them",
		ArgsUsage: "VAULT[:PATH][=NAME]... [-- CMD ARGS...]",
		Description: "A file becomes one variable named after its base name (or NAME); a directory or a\n" +
			"vault expands to all its files, recursively. With a command, pkfs execs it with the\n" +
			"parent environment plus the secrets; without one, it prints them in --env-format.\n\n" +
			"A file whose name is a variable that makes programs load or run code, trust\n" +
			"certificates or send traffic elsewhere (LD_PRELOAD, NODE_OPTIONS, PATH, HOME,\n" +
			"HTTPS_PROXY, ...; docs/local-trust.md lists them) is refused as --env-invalid says,\n" +
			"in every output format, unless NAME names it or --allow-env allows it: a peer\n" +
			"controls the files of a replica.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "env-format", Value: "unix", Usage: "output format: unix, json or dotenv"},
			&cli.StringFlag{Name: "env-invalid", Value: "error", Usage: "a name that is not a valid variable name: error, warn or ignore"},
			&cli.StringFlag{Name: "env-duplicate", Value: "overwrite", Usage: "a name seen twice: keep, overwrite, warn or error"},
			&cli.StringSliceFlag{Name: "allow-env", Usage: "take the variable `NAME` from a file's name although it is dangerous (LD_PRELOAD, PATH, ...); repeatable"},
		},
		Action: withArgRange(1, -1, runSecretsEnv),
	}
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

type envVar struct{ name, value string }

func runSecretsEnv(c *cli.Context, p printer) error {
	args := c.Args().Slice()
	var cmd []string
	for i, a := range args {
		if a == "--" {
			args, cmd = args[:i], args[i+1:]
			break
		}
	}
	if len(args) == 0 {
		return usageErrorf("secrets env: name at least one VAULT[:PATH]")
	}
	format, invalid, dup := c.String("env-format"), c.String("env-invalid"), c.String("env-duplicate")
	if !oneOf(format, "unix", "json", "dotenv") || !oneOf(invalid, "error", "warn", "ignore") || !oneOf(dup, "keep", "overwrite", "warn", "error") {
		return usageErrorf("secrets env: bad --env-format, --env-invalid or --env-duplicate value")
	}
	vars, err := collectEnv(c, args, invalid, dup)
	if err != nil {
		return err
	}
	if len(cmd) > 0 {
		return execWithEnv(cmd, vars)
	}
	return printEnv(c.App.Writer, format, vars)
}

func oneOf(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

func collectEnv(c *cli.Context, args []string, invalid, dup string) ([]envVar, error) {
	cl, err := newClient(c)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var vars []envVar
	index := map[string]int{}
	allowed := map[string]bool{}
	for _, n := range c.StringSlice("allow-env") {
		allowed[n] = true
	}
	for _, a := range args {
		target, rename, _ := strings.Cut(a, "=")
		sp, err := parseSecretPath(target)
		if err != nil {
			return nil, err
		}
		var items []agent.EnvItem
		params := agent.EnvParams{Targets: []agent.SecretParams{{Vault: sp.Vault, Path: sp.Path}}}
		if err := cl.Do(c.Context, "secrets.env", params, nil, nil, &items); err != nil {
			return nil, fmt.Errorf("%s: %w", sp, err)
		}
		if rename != "" && len(items) != 1 {
			return nil, kindErrorf(agent.KindInvalid, "%s=%s: a name can only be given to a single file", target, rename)
		}
		for _, it := range items {
			name := it.Name
			if rename != "" {
				name = rename
			}
			if !envNameRE.MatchString(name) || bytes.IndexByte(it.Value, 0) >= 0 {
				msg := fmt.Sprintf("%s:%s: %q is not a valid environment variable name", it.Vault, it.Path, name)
				if bytes.IndexByte(it.Value, 0) >= 0 {
					msg = fmt.Sprintf("%s:%s: the value contains a NUL byte", it.Vault, it.Path)
				}
				switch invalid {
				case "error":
					return nil, kindErrorf(agent.KindInvalid, "%s (name it with %s:%s=NAME, or skip it with --env-invalid warn|ignore)",
						msg, it.Vault, it.Path)
				case "warn":
					notef(c, "warning: %s, skipped", msg)
				}
				continue
			}
			if why := dangerousEnvName(name); why != "" && rename == "" && !allowed[name] {
				msg := fmt.Sprintf("%s:%s: %s is refused as a variable name: %s", it.Vault, it.Path, name, why)
				switch invalid {
				case "error":
					return nil, kindErrorf(agent.KindInvalid, "%s (allow it with --allow-env %s, or name it yourself with %s:%s=%s)",
						msg, name, it.Vault, it.Path, name)
				case "warn":
					notef(c, "warning: %s, skipped", msg)
				}
				continue
			}
			if i, seen := index[name]; seen {
				switch dup {
				case "error":
					return nil, kindErrorf(agent.KindInvalid, "%s is set twice (last by %s:%s)", name, it.Vault, it.Path)
				case "keep":
					continue
				case "warn":
					notef(c, "warning: %s is set twice, %s:%s wins", name, it.Vault, it.Path)
				}
				vars[i].value = string(it.Value)
				continue
			}
			index[name] = len(vars)
			vars = append(vars, envVar{name: name, value: string(it.Value)})
		}
	}
	return vars, nil
}

// execWithEnv replaces pkfs with the command, its environment the parent's
// plus the secrets. The node was closed before (collectEnv's client).
func execWithEnv(cmd []string, vars []envVar) error {
	bin, err := exec.LookPath(cmd[0])
	if err != nil {
		return kindErrorf(agent.KindNotFound, "%s: command not found", cmd[0])
	}
	env := os.Environ()
	for _, v := range vars {
		env = append(env, v.name+"="+v.value)
	}
	return syscall.Exec(bin, cmd, env)
}

func printEnv(w io.Writer, format string, vars []envVar) error {
	switch format {
	case "json":
		m := make(map[string]string, len(vars))
		for _, v := range vars {
			m[v.name] = v.value
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m); err != nil {
			return err
		}
		_, err := w.Write(escapeJSON(b.Bytes())) // the same values, safe on a terminal
		return err
	case "dotenv":
		var b strings.Builder // all or nothing: a value it cannot hold prints nothing
		for _, v := range vars {
			q, err := dotenvQuote(v.value)
			if err != nil {
				return kindErrorf(agent.KindInvalid, "cannot write %s in dotenv format: %v (use --env-format unix or json)", v.name, err)
			}
			fmt.Fprintf(&b, "%s=%s\n", v.name, q)
		}
		_, err := io.WriteString(w, b.String())
		return err
	default:
		for _, v := range vars {
			fmt.Fprintf(w, "export %s=%s\n", v.name, shellQuote(v.value))
		}
	}
	return nil
}

// shellQuote quotes s for a POSIX shell: single quotes, with each ' written
// as '\” — nothing inside single quotes is special, newlines included.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// dotenvQuote quotes s for dotenv parsers (godotenv v1.5 is the reference):
// double quotes with backslash escapes for \, ", $, newline and carriage
// return. godotenv ends a quoted value at the first quote not preceded by a
// backslash and then trims every quote character from both ends, so a value
// ending in " or \ cannot be double-quoted; it is single-quoted (literal)
// when it has no ' and does not end in \, else written bare when nothing in
// it is special unquoted. Any other value has no dotenv form: an error.
func dotenvQuote(s string) (string, error) {
	switch {
	case !strings.HasSuffix(s, `"`) && !strings.HasSuffix(s, `\`):
		return dotenvDoubleQuote(s), nil
	case !strings.Contains(s, "'") && !strings.HasSuffix(s, `\`) && !strings.Contains(s, "\r\n"):
		return "'" + s + "'", nil
	case dotenvBareOK(s):
		return s, nil
	}
	return "", errors.New(`the value ends in " or \ and cannot be quoted for dotenv`)
}

func dotenvDoubleQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ { // bytes, not runes: invalid UTF-8 stays as it is
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '$':
			b.WriteString(`\$`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// dotenvBareOK reports whether s reads back unchanged unquoted: valid UTF-8
// (godotenv reads a bare value as runes), no quote first, no line break, no
// $ (variables expand), no # (comments), no space at either end (trimmed).
func dotenvBareOK(s string) bool {
	if s == "" || s[0] == '"' || s[0] == '\'' || strings.ContainsAny(s, "\n\r$#") || !utf8.ValidString(s) {
		return false
	}
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == 0x85 || r == 0xa0 }) == s
}
