package segment

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/money"
)

// Bounds on one expression, so that no expression costs much to parse,
// compile or evaluate.
const (
	MaxLength     = 16 << 10 // bytes
	MaxConditions = 20
	MaxValues     = 300 // values in one list: every country fits
	// MaxResolvedAll bounds the plan and data_source values under ALL in
	// one expression: each is looked up on its own.
	MaxResolvedAll = 20
	// maxPart bounds the text an Error quotes.
	maxPart = 64
)

// cond is one checked condition: values in canonical form, sorted and
// without duplicates for the set operators.
type cond struct {
	filter string // "plan", "custom.<key>"
	op     Op
	kind   Kind
	vals   []string
}

func (c *cond) custom() (key string, ok bool) { return strings.CutPrefix(c.filter, CustomPrefix) }

// rawValue is a value as written.
type rawValue struct {
	text   string // unquoted, '' undone
	quoted bool
	src    string // as written, for errors
}

type rawCond struct {
	name, op string
	vals     []rawValue
	src      string // the whole condition as written
}

// Parse reads a CFL expression; errors are *Error. An empty (or blank)
// expression has no conditions and selects every customer.
func Parse(s string) (*Expr, error) {
	if len(s) > MaxLength {
		return nil, &Error{Part: part(s), Message: fmt.Sprintf("A filters expression has at most %d characters; this one has %d.", MaxLength, len(s))}
	}
	if !utf8.ValidString(s) {
		return nil, &Error{Part: part(s), Message: "The filters expression is not valid UTF-8."}
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return nil, &Error{Part: part(s[i:]), Message: "The filters expression contains a control character."}
	}
	raws, err := scan(s)
	if err != nil {
		return nil, err
	}
	e := &Expr{}
	resolvedAll := 0
	for _, rc := range raws {
		c, err := check(rc)
		if err != nil {
			return nil, err
		}
		if c.op == OpAll && (c.filter == FilterPlan || c.filter == FilterDataSource) {
			resolvedAll += len(c.vals)
			if resolvedAll > MaxResolvedAll {
				return nil, &Error{Part: part(rc.src), Message: fmt.Sprintf("An expression takes at most %d plan and data_source values under ALL.", MaxResolvedAll)}
			}
		}
		e.conds = append(e.conds, c)
	}
	e.normalise()
	return e, nil
}

// part is s cut to maxPart bytes on a character boundary.
func part(s string) string {
	if len(s) <= maxPart {
		return s
	}
	n := maxPart
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// scan splits an expression into conditions:
//
//	expr  = cond *( "~AND~" cond )
//	cond  = name "~" op "~" value *( "," value )
//	value = "'" *( char / "''" ) "'" / bare
//
// Spaces around names, operators and values are ignored; a bare value
// runs to the next comma or tilde.
func scan(s string) ([]rawCond, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []rawCond
	i := 0
	for {
		if len(out) == MaxConditions {
			return nil, &Error{Part: part(s[i:]), Message: fmt.Sprintf("An expression has at most %d conditions.", MaxConditions)}
		}
		start := i
		name, ok := field(s, &i)
		if !ok {
			return nil, &Error{Part: part(strings.TrimSpace(s[start:])), Message: "A condition is written filter~OPERATOR~value; this one stops after its filter name."}
		}
		op, ok := field(s, &i)
		if !ok {
			return nil, &Error{Part: part(strings.TrimSpace(s[start:])), Message: "A condition is written filter~OPERATOR~value; this one has no value."}
		}
		rc := rawCond{name: name, op: op}
		for {
			v, err := value(s, &i)
			if err != nil {
				return nil, err
			}
			if len(rc.vals) == MaxValues {
				return nil, &Error{Part: part(v.src), Message: fmt.Sprintf("A condition takes at most %d values.", MaxValues)}
			}
			rc.vals = append(rc.vals, v)
			skipSpace(s, &i)
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			break
		}
		rc.src = strings.TrimSpace(s[start:i])
		out = append(out, rc)
		if i == len(s) {
			return out, nil
		}
		if s[i] != '~' {
			return nil, &Error{Part: part(s[i:]), Message: "A value is followed by a comma, ~AND~ or the end of the expression."}
		}
		j := i + 1
		word, ok := field(s, &j)
		if !strings.EqualFold(word, "AND") {
			return nil, &Error{Part: part(s[i:]), Message: "Conditions are joined by ~AND~, the only connective CFL has."}
		}
		if !ok || strings.TrimSpace(s[j:]) == "" {
			return nil, &Error{Part: part(s[i:]), Message: "The expression ends after ~AND~; a condition must follow it."}
		}
		i = j
	}
}

// field reads up to the next tilde and steps over it; ok is false at the
// end of s.
func field(s string, i *int) (string, bool) {
	j := strings.IndexByte(s[*i:], '~')
	if j < 0 {
		return strings.TrimSpace(s[*i:]), false
	}
	f := strings.TrimSpace(s[*i : *i+j])
	*i += j + 1
	return f, true
}

func skipSpace(s string, i *int) {
	for *i < len(s) && s[*i] == ' ' {
		*i++
	}
}

// value reads one value: quoted, with ” for a quote inside, or bare.
func value(s string, i *int) (rawValue, error) {
	skipSpace(s, i)
	start := *i
	if *i < len(s) && s[*i] == '\'' {
		var b strings.Builder
		j := *i + 1
		for {
			k := strings.IndexByte(s[j:], '\'')
			if k < 0 {
				return rawValue{}, &Error{Part: part(s[start:]), Message: "A quoted value is not closed: end it with a single quote (write '' for a quote inside it)."}
			}
			b.WriteString(s[j : j+k])
			j += k + 1
			if j < len(s) && s[j] == '\'' {
				b.WriteByte('\'')
				j++
				continue
			}
			break
		}
		*i = j
		v := rawValue{text: b.String(), quoted: true, src: s[start:j]}
		skipSpace(s, i)
		if *i < len(s) && s[*i] != ',' && s[*i] != '~' {
			return rawValue{}, &Error{Part: part(s[start:]), Message: "A quoted value is followed by a comma, ~AND~ or the end of the expression."}
		}
		return v, nil
	}
	end := len(s)
	if k := strings.IndexAny(s[start:], ",~"); k >= 0 {
		end = start + k
	}
	*i = end
	text := strings.TrimSpace(s[start:end])
	if text == "" {
		p := s[start:]
		if start > 0 {
			p = s[start-1:]
		}
		return rawValue{}, &Error{Part: part(p), Message: "A value is missing: every condition needs one, and a list has no empty items."}
	}
	if strings.ContainsRune(text, '\'') {
		return rawValue{}, &Error{Part: part(text), Message: "A value has a stray quote: quote the whole value, and write '' for a quote inside it."}
	}
	return rawValue{text: text, src: text}, nil
}

// check turns a condition as written into a checked one.
func check(rc rawCond) (cond, error) {
	name := rc.name
	if name == "" {
		return cond{}, &Error{Part: part(rc.src), Message: "A condition starts with its filter name; this one has none."}
	}
	if rc.op == "" {
		return cond{}, &Error{Part: part(rc.src), Message: "A condition has an operator between its filter name and its value; this one has none."}
	}
	// The filter first, then its operator.
	key, custom := cutCustom(name)
	var sp Spec
	if custom {
		if key == "" {
			return cond{}, &Error{Part: part(name), Message: "A custom attribute filter is written custom.<key>; the key is missing."}
		}
		if utf8.RuneCountInString(key) > billing.MaxIDLength {
			return cond{}, &Error{Part: part(name), Message: fmt.Sprintf("A custom attribute key has at most %d characters.", billing.MaxIDLength)}
		}
	} else {
		var ok bool
		if sp, ok = spec(strings.ToLower(name)); !ok {
			return cond{}, &Error{Part: part(name), Message: fmt.Sprintf("%q is not a filter; the filters are %s, and custom.<key> for a custom attribute.", name, filterList())}
		}
	}
	op := Op(strings.ToUpper(rc.op))
	if !slices.Contains(ops, op) {
		return cond{}, &Error{Part: part(rc.op), Message: fmt.Sprintf("%q is not a CFL operator; the operators are %s.", rc.op, opList(ops))}
	}
	var c cond
	if custom {
		c = cond{filter: CustomPrefix + key, op: op, kind: customKind(rc.vals)}
		if !slices.Contains(customOps[c.kind], op) {
			return cond{}, &Error{Part: part(rc.op), Message: customOpMessage(c.kind, op)}
		}
	} else {
		if !slices.Contains(sp.Ops, op) {
			return cond{}, &Error{Part: part(rc.op), Message: fmt.Sprintf("%s does not take %s; it takes %s.", sp.Name, op, opList(sp.Ops))}
		}
		c = cond{filter: sp.Name, op: op, kind: sp.Kind}
	}
	if err := arity(c, rc); err != nil {
		return cond{}, err
	}
	for _, v := range rc.vals {
		t, err := canonical(c, v)
		if err != nil {
			return cond{}, err
		}
		c.vals = append(c.vals, t)
	}
	switch op {
	case OpBetween:
		if compareValues(c.kind, c.vals[0], c.vals[1]) > 0 {
			return cond{}, &Error{Part: part(rc.src), Message: "BETWEEN takes the smaller value first: BETWEEN~low,high."}
		}
	case OpAny, OpAll, OpNone:
		slices.Sort(c.vals)
		c.vals = slices.Compact(c.vals)
	}
	return c, nil
}

func cutCustom(name string) (string, bool) {
	if len(name) >= len(CustomPrefix) && strings.EqualFold(name[:len(CustomPrefix)], CustomPrefix) {
		return strings.TrimSpace(name[len(CustomPrefix):]), true
	}
	return "", false
}

// customKind infers a custom attribute condition's kind from its values:
// quoted ones are text; bare ones NULL, TRUE/FALSE, dates or numbers.
// Values of another kind are reported by canonical.
func customKind(vals []rawValue) Kind {
	v := vals[0]
	switch {
	case v.quoted:
		return KindText
	case strings.EqualFold(v.text, "NULL"):
		return KindNull
	case strings.EqualFold(v.text, "TRUE"), strings.EqualFold(v.text, "FALSE"):
		return KindBoolean
	case looksLikeDate(v.text):
		return KindDate
	}
	return KindNumber
}

func customOpMessage(k Kind, op Op) string {
	switch k {
	case KindText:
		return fmt.Sprintf("%s does not apply to text; text takes %s (or quote nothing: numbers, dates, TRUE/FALSE and NULL are written bare).", op, opList(customOps[k]))
	case KindNull:
		return fmt.Sprintf("NULL goes with IS and IS_NOT only, not %s.", op)
	case KindBoolean:
		return fmt.Sprintf("%s does not apply to TRUE/FALSE; they take EQ and NOT_EQ.", op)
	case KindDate:
		return fmt.Sprintf("%s does not apply to a date; dates take %s.", op, opList(customOps[k]))
	}
	if op == OpIs || op == OpIsNot {
		return fmt.Sprintf("%s takes NULL only.", op)
	}
	return fmt.Sprintf("%s does not apply to a number; numbers take %s (write text in single quotes).", op, opList(customOps[k]))
}

// arity checks the number of values for the operator.
func arity(c cond, rc rawCond) error {
	n := len(rc.vals)
	switch c.op {
	case OpAny, OpAll, OpNone:
		return nil
	case OpBetween:
		if n != 2 {
			return &Error{Part: part(rc.src), Message: fmt.Sprintf("BETWEEN takes two values, low and high: BETWEEN~low,high; this one has %d.", n)}
		}
		return nil
	}
	if n != 1 {
		return &Error{Part: part(rc.src), Message: fmt.Sprintf("%s takes one value; this one has %d (ANY takes a list).", c.op, n)}
	}
	return nil
}

// canonical checks one value against its condition's kind and gives its
// canonical text.
func canonical(c cond, v rawValue) (string, error) {
	bad := func(format string, a ...any) error {
		return &Error{Part: part(v.src), Message: fmt.Sprintf(format, a...)}
	}
	t := v.text
	if c.kind.quoted() {
		if strings.TrimSpace(t) == "" {
			return "", bad("%s takes no empty value.", c.filter)
		}
		if utf8.RuneCountInString(t) > billing.MaxTextLength {
			return "", bad("A value has at most %d characters.", billing.MaxTextLength)
		}
	}
	if strings.HasPrefix(c.filter, CustomPrefix) && v.quoted != (c.kind == KindText) {
		// customKind typed the condition by its first value.
		return "", bad("A custom attribute condition's values are all text (quoted) or all bare; quote every value or none.")
	}
	switch c.kind {
	case KindCountry:
		u := strings.ToUpper(strings.TrimSpace(t))
		if !billing.ValidCountry(u) {
			return "", bad("%s is not an ISO 3166-1 alpha-2 country code (like US, DE).", v.src)
		}
		return u, nil
	case KindCurrency:
		u := strings.ToUpper(strings.TrimSpace(t))
		if !money.Valid(u) {
			return "", bad("%s is not an ISO 4217 currency code (like USD, EUR).", v.src)
		}
		return u, nil
	case KindStatus:
		for _, s := range Statuses {
			if strings.EqualFold(s, strings.TrimSpace(t)) {
				return s, nil
			}
		}
		return "", bad("%s is not a customer status; the statuses are %s.", v.src, quotedList(Statuses))
	case KindMoney, KindNumber:
		d, ok := decimal(t)
		if !ok {
			if c.kind == KindNumber {
				return "", bad("%s is neither a number, a date (YYYY-MM-DD), TRUE, FALSE nor NULL; write text in single quotes.", v.src)
			}
			return "", bad("%s takes a number in the account currency's major units, like 150 or 99.50; %s is not one.", c.filter, v.src)
		}
		return d, nil
	case KindInteger:
		d, ok := decimal(t)
		if !ok || strings.Contains(d, ".") {
			return "", bad("%s takes a whole number; %s is not one.", c.filter, v.src)
		}
		return d, nil
	case KindDate:
		d, ok := date(t)
		if !ok {
			return "", bad("%s is not a date: write YYYY-MM-DD, between 1970-01-01 and 2999-12-31.", v.src)
		}
		return d, nil
	case KindBoolean:
		u := strings.ToUpper(t)
		if u != "TRUE" && u != "FALSE" {
			return "", bad("%s is not TRUE or FALSE; values of one condition have one type.", v.src)
		}
		return u, nil
	case KindNull:
		if !strings.EqualFold(t, "NULL") {
			return "", bad("%s takes NULL only.", c.op)
		}
		return "NULL", nil
	}
	return t, nil // plan, plan group, data source, text: as written
}

// decimal reads [-]digits[.digits] (at most 15 digits before the point
// and 6 after) and gives its canonical text: no leading zeros, no
// trailing fractional zeros, no "-0".
func decimal(s string) (string, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	ip, fp, dot := strings.Cut(s, ".")
	if ip == "" || len(ip) > 15 || len(fp) > 6 || (dot && fp == "") || !digits(ip) || !digits(fp) {
		return "", false
	}
	ip = strings.TrimLeft(ip, "0")
	if ip == "" {
		ip = "0"
	}
	fp = strings.TrimRight(fp, "0")
	out := ip
	if fp != "" {
		out += "." + fp
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func looksLikeDate(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-' && digits(s[:4]) && digits(s[5:7]) && digits(s[8:])
}

// date checks a YYYY-MM-DD date within billing's date range.
func date(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !looksLikeDate(s) {
		return "", false
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Before(billing.MinDate) || t.After(billing.MaxDate) {
		return "", false
	}
	return s, true
}

// rat is a canonical decimal as an exact fraction.
func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return new(big.Rat) // not reached: Parse checked s
	}
	return r
}

// compareValues orders two canonical values of a kind.
func compareValues(k Kind, a, b string) int {
	switch k {
	case KindMoney, KindNumber, KindInteger:
		return rat(a).Cmp(rat(b))
	}
	return strings.Compare(a, b) // dates compare as text
}

func opList(o []Op) string {
	s := make([]string, len(o))
	for i, op := range o {
		s[i] = string(op)
	}
	return strings.Join(s, ", ")
}

func filterList() string {
	s := make([]string, len(specs))
	for i, sp := range specs {
		s[i] = sp.Name
	}
	return strings.Join(s, ", ")
}

func quotedList(vals []string) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = Quote(v)
	}
	return strings.Join(s, ", ")
}
