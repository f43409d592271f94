package main

import "strings"

// Variables that secrets env refuses to take from a file's name. Vault
// contents are not only the user's: a peer controls a replica, and any
// writer will once vaults are multi-writer. A file named LD_PRELOAD or
// NODE_OPTIONS in such a vault would make the command that secrets env
// runs (or a shell that later sources its printed form) load or run code
// of the peer's choosing, trust its certificates or send traffic through
// it. The user opts in by naming the variable on the command line
// (VAULT:PATH=NAME) or with --allow-env NAME. docs/local-trust.md lists
// these with the same reasons; a test keeps the two in step.
//
// A pattern ending in * matches every name that starts with the rest.
// Matching is exact otherwise, and case-sensitive, as environment names
// are on Linux. The list cannot be complete: it covers the loader and the
// C library, shells, common interpreters, programs that run other
// programs, TLS trust and proxies, and pkfs itself.
var dangerousEnvNames = []struct{ pattern, why string }{
	// the dynamic loader and the C library
	{"LD_*", "the dynamic loader loads code from it into every program"},
	{"DYLD_*", "the macOS dynamic loader loads code from it into every program"},
	{"GCONV_PATH", "the C library loads character set modules from it"},
	{"LOCPATH", "the C library reads locale data from it"},
	{"NLSPATH", "the C library reads message catalogs (format strings) from it"},
	{"GLIBC_TUNABLES", "it tunes the C library's internals"},
	{"MALLOC_*", "it tunes the C library's memory allocator"},
	{"HOSTALIASES", "it changes what host names resolve to"},
	{"RESOLV_HOST_CONF", "it changes how host names resolve"},
	{"LOCALDOMAIN", "it changes which domain short host names resolve in"},
	{"RES_OPTIONS", "it changes how host names resolve"},
	// shells
	{"BASH_ENV", "bash runs the file it names before every script"},
	{"ENV", "sh runs the file it names when it starts"},
	{"ZDOTDIR", "zsh runs its startup files from it"},
	{"SHELLOPTS", "it sets bash options (xtrace, and more) in every script"},
	{"BASHOPTS", "it sets bash options in every script"},
	{"PS0", "bash expands command substitutions in it"},
	{"PS1", "shells expand command substitutions in it"},
	{"PS2", "shells expand command substitutions in it"},
	{"PS3", "shells expand command substitutions in it"},
	{"PS4", "shells expand command substitutions in it when tracing"},
	{"PROMPT_COMMAND", "bash runs it before every prompt"},
	{"IFS", "it changes how shell scripts split words"},
	{"CDPATH", "it changes where cd in a shell script goes"},
	// interpreters and runtimes
	{"NODE_OPTIONS", "node takes options (--require) from it"},
	{"NODE_PATH", "node loads modules from it"},
	{"PERL5OPT", "perl takes options (-M) from it"},
	{"PERL5LIB", "perl loads modules from it"},
	{"PERLLIB", "perl loads modules from it"},
	{"PERL5DB", "perl runs it as its debugger"},
	{"PYTHONSTARTUP", "python runs the file it names"},
	{"PYTHONPATH", "python imports modules from it"},
	{"PYTHONHOME", "python loads its standard library from it"},
	{"PYTHONINSPECT", "python stays interactive after a script"},
	{"PYTHONUSERBASE", "python imports user modules from it"},
	{"PYTHONBREAKPOINT", "python calls the function it names"},
	{"PYTHONWARNINGS", "python imports the warning classes it names"},
	{"RUBYOPT", "ruby takes options (-r) from it"},
	{"RUBYLIB", "ruby loads libraries from it"},
	{"JAVA_TOOL_OPTIONS", "the JVM takes options (agents) from it"},
	{"_JAVA_OPTIONS", "the JVM takes options (agents) from it"},
	{"JDK_JAVA_OPTIONS", "the java launcher takes options from it"},
	{"CLASSPATH", "java loads classes from it"},
	{"PHPRC", "php reads its configuration from it"},
	{"PHP_INI_SCAN_DIR", "php reads configuration files from it"},
	{"LUA_INIT*", "lua runs it when it starts"},
	{"LUA_PATH*", "lua loads modules from it"},
	{"LUA_CPATH*", "lua loads native modules from it"},
	{"DOTNET_STARTUP_HOOKS", ".NET runs the assemblies it names"},
	{"GOFLAGS", "go takes flags (-toolexec) from it"},
	// programs that run other programs or read their configuration
	{"PATH", "it decides which program a command name runs"},
	{"HOME", "programs read startup and configuration files from it"},
	{"XDG_CONFIG_HOME", "programs read configuration files from it"},
	{"XDG_CONFIG_DIRS", "programs read configuration files from it"},
	{"SHELL", "programs run commands with it"},
	{"EDITOR", "programs run it"},
	{"VISUAL", "programs run it"},
	{"PAGER", "programs run it"},
	{"MANPAGER", "man runs it"},
	{"BROWSER", "programs run it"},
	{"LESSOPEN", "less runs it on every file"},
	{"LESSCLOSE", "less runs it on every file"},
	{"SSH_ASKPASS", "ssh runs it to ask for passwords"},
	{"SUDO_ASKPASS", "sudo runs it to ask for passwords"},
	{"GIT_SSH", "git runs it"},
	{"GIT_SSH_COMMAND", "git runs it"},
	{"GIT_EXEC_PATH", "git runs its commands from it"},
	{"GIT_CONFIG*", "it sets git configuration, which can run commands"},
	{"GIT_DIR", "it points git at a repository whose configuration can run commands"},
	{"GIT_ASKPASS", "git runs it to ask for passwords"},
	{"GIT_EDITOR", "git runs it"},
	{"GIT_SEQUENCE_EDITOR", "git runs it"},
	{"GIT_PAGER", "git runs it"},
	{"GIT_EXTERNAL_DIFF", "git runs it"},
	{"GIT_PROXY_COMMAND", "git runs it"},
	{"GIT_TEMPLATE_DIR", "git copies hooks from it"},
	// whom TLS trusts, where traffic goes
	{"SSL_CERT_FILE", "it decides which certificates TLS trusts"},
	{"SSL_CERT_DIR", "it decides which certificates TLS trusts"},
	{"CURL_CA_BUNDLE", "it decides which certificates curl trusts"},
	{"REQUESTS_CA_BUNDLE", "it decides which certificates python requests trusts"},
	{"NODE_EXTRA_CA_CERTS", "node trusts the certificates it names"},
	{"NODE_TLS_REJECT_UNAUTHORIZED", "it turns off node's certificate checks"},
	{"PYTHONHTTPSVERIFY", "it turns off python's certificate checks"},
	{"GIT_SSL_CAINFO", "it decides which certificates git trusts"},
	{"GIT_SSL_NO_VERIFY", "it turns off git's certificate checks"},
	{"HTTP_PROXY", "it sends HTTP traffic through the host it names"},
	{"HTTPS_PROXY", "it sends HTTPS traffic through the host it names"},
	{"ALL_PROXY", "it sends traffic through the host it names"},
	{"FTP_PROXY", "it sends FTP traffic through the host it names"},
	{"http_proxy", "it sends HTTP traffic through the host it names"},
	{"https_proxy", "it sends HTTPS traffic through the host it names"},
	{"all_proxy", "it sends traffic through the host it names"},
	{"ftp_proxy", "it sends FTP traffic through the host it names"},
	// pkfs itself
	{"PK_*", "pkfs takes its node path, password and peers from it"},
	{"PKFS_*", "pkfs takes its settings from it"},
}

// dangerousEnvName returns why name is refused, or "" when it is not.
func dangerousEnvName(name string) string {
	for _, d := range dangerousEnvNames {
		if prefix, ok := strings.CutSuffix(d.pattern, "*"); (ok && strings.HasPrefix(name, prefix)) || d.pattern == name {
			return d.why
		}
	}
	return ""
}
