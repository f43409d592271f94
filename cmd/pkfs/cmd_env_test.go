package main

import (
	"strings"
	"testing"

	"github.com/joho/godotenv"
)

// Every value that dotenvQuote accepts reads back unchanged with godotenv,
// the parser the dotenv format targets; a refused value is one that ends
// in " or \.
func FuzzDotenvQuote(f *testing.F) {
	for _, s := range []string{"", "plain", `a"`, `a\`, `'a"`, `it's $5\`, "a\nb", "a\r\nb", `\$HOME`, "${X}", " a ", "#", "\xff\xfe", `\"`, `"`, `'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			return // refused before quoting: not a valid environment value
		}
		q, err := dotenvQuote(s)
		if err != nil {
			if !strings.HasSuffix(s, `"`) && !strings.HasSuffix(s, `\`) {
				t.Fatalf("%q refused: %v", s, err)
			}
			return
		}
		got, err := godotenv.Unmarshal("K=" + q + "\nNEXT=1\n")
		if err != nil {
			t.Fatalf("%q quoted as %q: godotenv: %v", s, q, err)
		}
		if got["K"] != s || got["NEXT"] != "1" || len(got) != 2 {
			t.Fatalf("%q quoted as %q reads back as %q", s, q, got)
		}
	})
}
