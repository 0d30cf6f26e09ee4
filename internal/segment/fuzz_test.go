package segment

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// FuzzParse: no input panics; an error is an *Error with a Part and a
// message; an expression's canonical form parses back to itself, and it
// and its compiled key select the same customers.
// Seeds are in testdata/fuzz/FuzzParse; run with
// go test -fuzz=FuzzParse ./internal/segment.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "region~ANY~'US','FR','DE'~AND~mrr~GT~150", "plan~ANY~'pl_basic'~AND~plan_group~ANY~'grp_paid'",
		"tags~ANY~'O''Brien'", "custom.seats~BETWEEN~1,5", "custom.x~IS~NULL", "active_quantity~BETWEEN~0,11",
		"subscriber_since~BETWEEN~2022-04-01,2022-06-30", "customer_status~NONE~'New Lead'",
	} {
		f.Add(s)
	}
	r := &resolver{}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Message == "" {
				t.Fatalf("Parse(%q) = %v, not an *Error with a message", s, err)
			}
			if pe.Part == "" && strings.TrimSpace(s) != "" {
				t.Fatalf("Parse(%q): no Part in %q", s, pe.Message)
			}
			return
		}
		canon := e.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", s, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("Parse(%q): %q then %q", s, canon, again.String())
		}
		fl, err := e.Compile(context.Background(), r)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Compile(%q) = %v, not an *Error", s, err)
			}
			return
		}
		if fl.String() == "" || strings.HasSuffix(fl.String(), "~") {
			return // no condition, or an empty plan view: no key to parse
		}
		g, err := Parse(fl.String())
		if err != nil {
			t.Fatalf("key %q of %q does not parse: %v", fl.String(), s, err)
		}
		gf, err := g.Compile(context.Background(), r)
		if err != nil {
			t.Fatalf("key %q of %q does not compile: %v", fl.String(), s, err)
		}
		for name, c := range customers {
			if fl.Match(c) != gf.Match(c) {
				t.Fatalf("%q and its key %q disagree on %s", s, fl.String(), name)
			}
		}
	})
}
