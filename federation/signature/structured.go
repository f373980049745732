package signature

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// The RFC 8941 structured field values that RFC 9421 and RFC 9530 build on:
// Signature-Input, Signature and Content-Digest are each a Dictionary whose
// members are Items or Inner Lists, both with Parameters.
//
// The parser is stricter than RFC 8941 in one respect: a key repeated in a
// dictionary or in one set of parameters is refused, where the RFC lets the
// last one win. A sender has no reason to repeat one, and refusing it leaves
// no room for two readers of the same header to take different values.

// maxFieldLength bounds a structured field, all its lines joined. A signature
// over a dozen components with a 4096-bit RSA value takes about 1 KiB.
const maxFieldLength = 8 << 10

// Bare items are held as string, token, int64, decimal, []byte or bool.
type (
	token   string
	decimal int64 // in thousandths, the precision RFC 8941 allows
)

type param struct {
	key   string
	value any // a bare item
}

type item struct {
	value  any // a bare item
	params []param
}

// member is one dictionary member. Its value is a bare item or, for an inner
// list, []item; params belong to that item or list.
type member struct {
	key    string
	value  any
	params []param
}

func paramValue(params []param, key string) any {
	for _, p := range params {
		if p.key == key {
			return p.value
		}
	}
	return nil
}

type syntaxError string

func (e syntaxError) Error() string { return string(e) }

type fieldParser struct {
	rest string
}

// parseDictionary parses the value of a Dictionary field, its lines already
// joined with commas.
func parseDictionary(field string) ([]member, error) {
	if len(field) > maxFieldLength {
		return nil, syntaxError("longer than " + strconv.Itoa(maxFieldLength) + " bytes")
	}
	p := fieldParser{rest: strings.TrimLeft(field, " ")}
	var members []member
	seen := make(map[string]bool)
	for p.rest != "" {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, syntaxError("repeated key " + key)
		}
		seen[key] = true
		m := member{key: key, value: true}
		if p.consume('=') {
			m.value, m.params, err = p.itemOrInnerList()
		} else {
			m.params, err = p.parameters()
		}
		if err != nil {
			return nil, err
		}
		members = append(members, m)
		p.skipWhitespace()
		if p.rest == "" {
			break
		}
		if !p.consume(',') {
			return nil, syntaxError("expected a comma after " + key)
		}
		p.skipWhitespace()
		if p.rest == "" {
			return nil, syntaxError("trailing comma")
		}
	}
	return members, nil
}

func (p *fieldParser) consume(c byte) bool {
	if p.rest != "" && p.rest[0] == c {
		p.rest = p.rest[1:]
		return true
	}
	return false
}

func (p *fieldParser) skipSpaces() { p.rest = strings.TrimLeft(p.rest, " ") }

// skipWhitespace skips OWS, which RFC 8941 allows only around the commas of
// lists and dictionaries; elsewhere only spaces may separate.
func (p *fieldParser) skipWhitespace() { p.rest = strings.TrimLeft(p.rest, " \t") }

func (p *fieldParser) itemOrInnerList() (any, []param, error) {
	var value any
	var err error
	if p.consume('(') {
		value, err = p.innerList()
	} else {
		value, err = p.bareItem()
	}
	if err != nil {
		return nil, nil, err
	}
	params, err := p.parameters()
	return value, params, err
}

func (p *fieldParser) innerList() ([]item, error) {
	items := []item{}
	for {
		p.skipSpaces()
		if p.consume(')') {
			return items, nil
		}
		value, err := p.bareItem()
		if err != nil {
			return nil, err
		}
		params, err := p.parameters()
		if err != nil {
			return nil, err
		}
		items = append(items, item{value: value, params: params})
		if p.rest == "" || (p.rest[0] != ' ' && p.rest[0] != ')') {
			return nil, syntaxError("expected a space or a closing parenthesis in an inner list")
		}
	}
}

func (p *fieldParser) parameters() ([]param, error) {
	var params []param
	for p.consume(';') {
		p.skipSpaces()
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if paramValue(params, key) != nil {
			return nil, syntaxError("repeated parameter " + key)
		}
		var value any = true
		if p.consume('=') {
			if value, err = p.bareItem(); err != nil {
				return nil, err
			}
		}
		params = append(params, param{key: key, value: value})
	}
	return params, nil
}

func (p *fieldParser) key() (string, error) {
	if p.rest == "" || !(isLowerAlpha(p.rest[0]) || p.rest[0] == '*') {
		return "", syntaxError("expected a key")
	}
	n := 1
	for n < len(p.rest) && isKeyChar(p.rest[n]) {
		n++
	}
	key := p.rest[:n]
	p.rest = p.rest[n:]
	return key, nil
}

func (p *fieldParser) bareItem() (any, error) {
	if p.rest == "" {
		return nil, syntaxError("expected an item")
	}
	switch c := p.rest[0]; {
	case c == '-' || isDigit(c):
		return p.number()
	case c == '"':
		return p.string()
	case c == ':':
		return p.byteSequence()
	case c == '?':
		return p.boolean()
	case c == '*' || isAlpha(c):
		return p.token()
	}
	return nil, syntaxError("unexpected character in an item")
}

func (p *fieldParser) number() (any, error) {
	s := p.rest
	negative := s[0] == '-'
	start := 0
	if negative {
		start = 1
	}
	end := start
	for end < len(s) && isDigit(s[end]) {
		end++
	}
	intDigits := end - start
	if intDigits == 0 {
		return nil, syntaxError("expected a digit")
	}
	if end == len(s) || s[end] != '.' {
		if intDigits > 15 {
			return nil, syntaxError("integer too long")
		}
		n, err := strconv.ParseInt(s[start:end], 10, 64)
		if err != nil {
			return nil, syntaxError("bad integer")
		}
		p.rest = s[end:]
		if negative {
			n = -n
		}
		return n, nil
	}
	if intDigits > 12 {
		return nil, syntaxError("decimal too long")
	}
	fracStart := end + 1
	end = fracStart
	for end < len(s) && isDigit(s[end]) {
		end++
	}
	fracDigits := end - fracStart
	if fracDigits == 0 || fracDigits > 3 {
		return nil, syntaxError("a decimal needs one to three fractional digits")
	}
	whole, err := strconv.ParseInt(s[start:fracStart-1], 10, 64)
	if err != nil {
		return nil, syntaxError("bad decimal")
	}
	fraction, err := strconv.ParseInt(s[fracStart:end], 10, 64)
	if err != nil {
		return nil, syntaxError("bad decimal")
	}
	for range 3 - fracDigits {
		fraction *= 10
	}
	n := whole*1000 + fraction
	if negative {
		n = -n
	}
	p.rest = s[end:]
	return decimal(n), nil
}

func (p *fieldParser) string() (any, error) {
	s := p.rest
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
			if i == len(s) || (s[i] != '"' && s[i] != '\\') {
				return nil, syntaxError("bad escape in a string")
			}
			b.WriteByte(s[i])
		case c == '"':
			p.rest = s[i+1:]
			return b.String(), nil
		case c < 0x20 || c > 0x7e:
			return nil, syntaxError("unprintable character in a string")
		default:
			b.WriteByte(c)
		}
	}
	return nil, syntaxError("unterminated string")
}

func (p *fieldParser) token() (any, error) {
	n := 1
	for n < len(p.rest) && (isTokenChar(p.rest[n]) || p.rest[n] == ':' || p.rest[n] == '/') {
		n++
	}
	t := token(p.rest[:n])
	p.rest = p.rest[n:]
	return t, nil
}

// byteSequence accepts base64 with its padding or, as RFC 8941 asks of
// parsers, without it; padding in the wrong place is refused.
func (p *fieldParser) byteSequence() (any, error) {
	end := strings.IndexByte(p.rest[1:], ':')
	if end < 0 {
		return nil, syntaxError("unterminated byte sequence")
	}
	encoded := p.rest[1 : 1+end]
	for i := range len(encoded) {
		if c := encoded[i]; !isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=' {
			return nil, syntaxError("bad character in a byte sequence")
		}
	}
	encoding := base64.StdEncoding
	if len(encoded)%4 != 0 {
		encoding = base64.RawStdEncoding
	}
	decoded, err := encoding.DecodeString(encoded)
	if err != nil {
		return nil, syntaxError("bad base64 in a byte sequence")
	}
	p.rest = p.rest[end+2:]
	return decoded, nil
}

func (p *fieldParser) boolean() (any, error) {
	if len(p.rest) < 2 || (p.rest[1] != '0' && p.rest[1] != '1') {
		return nil, syntaxError("bad boolean")
	}
	value := p.rest[1] == '1'
	p.rest = p.rest[2:]
	return value, nil
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isLowerAlpha(c byte) bool { return 'a' <= c && c <= 'z' }
func isAlpha(c byte) bool      { return isLowerAlpha(c) || ('A' <= c && c <= 'Z') }

func isKeyChar(c byte) bool {
	return isLowerAlpha(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '*'
}

// isTokenChar is RFC 9110's tchar.
func isTokenChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// serializeInnerList writes an inner list and its parameters in the one
// canonical form of RFC 8941, section 4.1.
func serializeInnerList(items []item, params []param) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(' ')
		}
		writeBareItem(&b, it.value)
		writeParams(&b, it.params)
	}
	b.WriteByte(')')
	writeParams(&b, params)
	return b.String()
}

func writeParams(b *strings.Builder, params []param) {
	for _, p := range params {
		b.WriteByte(';')
		b.WriteString(p.key)
		if p.value != true {
			b.WriteByte('=')
			writeBareItem(b, p.value)
		}
	}
}

func writeBareItem(b *strings.Builder, value any) {
	switch v := value.(type) {
	case string:
		b.WriteByte('"')
		for i := range len(v) {
			if v[i] == '"' || v[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v[i])
		}
		b.WriteByte('"')
	case token:
		b.WriteString(string(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case decimal:
		n := int64(v)
		if n < 0 {
			b.WriteByte('-')
			n = -n
		}
		b.WriteString(strconv.FormatInt(n/1000, 10))
		b.WriteByte('.')
		fraction := strings.TrimRight(strconv.FormatInt(1000+n%1000, 10)[1:], "0")
		if fraction == "" {
			fraction = "0"
		}
		b.WriteString(fraction)
	case []byte:
		b.WriteByte(':')
		b.WriteString(base64.StdEncoding.EncodeToString(v))
		b.WriteByte(':')
	case bool:
		if v {
			b.WriteString("?1")
		} else {
			b.WriteString("?0")
		}
	}
}
