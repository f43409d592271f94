package main

import (
	"os"
	"strings"
	"testing"
)

func TestDangerousEnvNames(t *testing.T) {
	for name, dangerous := range map[string]bool{
		"LD_PRELOAD": true, "LD_LIBRARY_PATH": true, "LD_AUDIT": true, "DYLD_INSERT_LIBRARIES": true,
		"GCONV_PATH": true, "GLIBC_TUNABLES": true, "MALLOC_CHECK_": true, "HOSTALIASES": true,
		"BASH_ENV": true, "ENV": true, "PS4": true, "PROMPT_COMMAND": true, "IFS": true, "SHELLOPTS": true,
		"NODE_OPTIONS": true, "PERL5OPT": true, "PERL5LIB": true, "PYTHONPATH": true, "PYTHONSTARTUP": true,
		"RUBYOPT": true, "JAVA_TOOL_OPTIONS": true, "_JAVA_OPTIONS": true, "LUA_INIT": true, "LUA_INIT_5_4": true,
		"PATH": true, "HOME": true, "SHELL": true, "EDITOR": true, "PAGER": true, "LESSOPEN": true,
		"GIT_SSH_COMMAND": true, "GIT_CONFIG": true, "GIT_CONFIG_GLOBAL": true, "GIT_CONFIG_KEY_0": true,
		"GIT_EXEC_PATH": true, "GIT_DIR": true, "SSL_CERT_FILE": true, "NODE_TLS_REJECT_UNAUTHORIZED": true,
		"HTTPS_PROXY": true, "https_proxy": true, "PK_PASSWORD": true, "PK_NODE_PATH": true, "PKFS_GITHUB_URL": true,

		"API_KEY": false, "DB_PASSWORD": false, "TOKEN": false, "LDAP_PASSWORD": false, "LD": false,
		"path": false, "Path": false, "HOMEPAGE": false, "PATH_PREFIX": false, "ENVIRONMENT": false,
		"MY_PATH": false, "GIT_AUTHOR_NAME": false, "GIT_TOKEN": false, "PKG_CONFIG_PATH": false,
		"PS5": false, "HTTP_PROXY_USER": false, "NO_PROXY": false, "PYTHONUNBUFFERED": false,
		"NODE_ENV": false, "AWS_SECRET_ACCESS_KEY": false,
	} {
		if got := dangerousEnvName(name) != ""; got != dangerous {
			t.Errorf("dangerousEnvName(%q): dangerous %v, want %v", name, got, dangerous)
		}
	}
}

// docs/local-trust.md lists every pattern of the code, with its reason.
func TestDangerousEnvNamesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/local-trust.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range dangerousEnvNames {
		if seen[d.pattern] {
			t.Errorf("%s is listed twice", d.pattern)
		}
		seen[d.pattern] = true
		if !strings.Contains(string(doc), "`"+d.pattern+"`") {
			t.Errorf("docs/local-trust.md does not list `%s`", d.pattern)
		}
		if d.why == "" || strings.HasSuffix(d.why, ".") {
			t.Errorf("%s: reason %q", d.pattern, d.why)
		}
	}
}
