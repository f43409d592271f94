package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// stdoutJSON decodes the single JSON document the last command printed.
func stdoutJSON(ts *testscript.TestScript) any {
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile("stdout")))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		ts.Fatalf("stdout is not JSON: %v", err)
	}
	if dec.More() {
		ts.Fatalf("stdout holds more than one JSON document")
	}
	return v
}

// jsonQuery evaluates q on v. q is "." for the document itself, or parts
// separated by dots: a key of an object, an index of an array, "#" for the
// length of an array or object, "*" for every element of an array (the rest
// of the query is applied to each and the results form an array).
func jsonQuery(ts *testscript.TestScript, v any, q string) any {
	if q == "." || q == "" {
		return v
	}
	part, rest, _ := strings.Cut(q, ".")
	switch x := v.(type) {
	case []any:
		switch part {
		case "#":
			return json.Number(strconv.Itoa(len(x)))
		case "*":
			out := make([]any, 0, len(x))
			for _, e := range x {
				out = append(out, jsonQuery(ts, e, rest))
			}
			return out
		}
		i, err := strconv.Atoi(part)
		if err != nil || i < 0 || i >= len(x) {
			ts.Fatalf("query %q: no element %q in an array of %d", q, part, len(x))
		}
		return jsonQuery(ts, x[i], rest)
	case map[string]any:
		if part == "#" {
			return json.Number(strconv.Itoa(len(x)))
		}
		e, ok := x[part]
		if !ok {
			ts.Fatalf("query %q: no field %q (fields: %v)", q, part, sortedKeys(x))
		}
		return jsonQuery(ts, e, rest)
	}
	ts.Fatalf("query %q: %q applied to a %T", q, part, v)
	return nil
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// jsonText is a queried value as text: strings as they are, anything else
// in compact JSON.
func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

// jsonq QUERY VAR: set $VAR to the value at QUERY of the JSON on stdout.
func cmdJSONQ(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonq QUERY VAR")
	}
	ts.Setenv(args[1], jsonText(jsonQuery(ts, stdoutJSON(ts), args[0])))
}

// jsonis QUERY VALUE: the value at QUERY of the JSON on stdout, as text
// (strings bare, the rest compact JSON), is VALUE.
func cmdJSONIs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: jsonis QUERY VALUE")
	}
	got := jsonText(jsonQuery(ts, stdoutJSON(ts), args[0]))
	if (got == args[1]) == neg {
		if neg {
			ts.Fatalf("%s is %q", args[0], got)
		}
		ts.Fatalf("%s is %q, want %q", args[0], got, args[1])
	}
}

// jsonhas QUERY VALUE: the array at QUERY of the JSON on stdout has an
// element whose text is VALUE.
func cmdJSONHas(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: jsonhas QUERY VALUE")
	}
	arr, ok := jsonQuery(ts, stdoutJSON(ts), args[0]).([]any)
	if !ok {
		ts.Fatalf("%s is not an array", args[0])
	}
	found := slices.ContainsFunc(arr, func(e any) bool { return jsonText(e) == args[1] })
	if found == neg {
		ts.Fatalf("%s: contains %q: %v, want %v", args[0], args[1], found, !neg)
	}
}

// jsonkeys [-atleast] QUERY KEY...: the value at QUERY of the JSON on stdout
// is an object whose field names are exactly KEY... (with -atleast: include
// them), or a non-empty array of such objects.
func cmdJSONKeys(ts *testscript.TestScript, neg bool, args []string) {
	atLeast := len(args) > 0 && args[0] == "-atleast"
	if atLeast {
		args = args[1:]
	}
	if neg || len(args) < 2 {
		ts.Fatalf("usage: jsonkeys [-atleast] QUERY KEY...")
	}
	want := slices.Sorted(slices.Values(args[1:]))
	check := func(what string, v any) {
		obj, ok := v.(map[string]any)
		if !ok {
			ts.Fatalf("%s is a %T, not an object", what, v)
		}
		got := sortedKeys(obj)
		if atLeast {
			for _, k := range want {
				if _, ok := obj[k]; !ok {
					ts.Fatalf("%s has fields %v, missing %q", what, got, k)
				}
			}
			return
		}
		if !slices.Equal(got, want) {
			ts.Fatalf("%s has fields %v, want exactly %v", what, got, want)
		}
	}
	v := jsonQuery(ts, stdoutJSON(ts), args[0])
	if arr, ok := v.([]any); ok {
		if len(arr) == 0 {
			ts.Fatalf("%s is an empty array", args[0])
		}
		for i, e := range arr {
			check(fmt.Sprintf("%s[%d]", args[0], i), e)
		}
		return
	}
	check(args[0], v)
}

// randfile FILE SIZE: write SIZE pseudo-random bytes (NULs and all byte
// values included) to FILE, the same bytes for the same name and size.
func cmdRandFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: randfile FILE SIZE")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	var seed [32]byte
	copy(seed[:], args[0])
	r := rand.NewChaCha8(seed)
	b := make([]byte, n)
	r.Read(b)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o600))
}

// prefix VAR N NEWVAR: set $NEWVAR to the first N bytes of $VAR (a short
// commit ID).
func cmdPrefix(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: prefix VAR N NEWVAR")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	v := ts.Getenv(args[0])
	if len(v) < n {
		ts.Fatalf("$%s has fewer than %d bytes", args[0], n)
	}
	ts.Setenv(args[2], v[:n])
}
