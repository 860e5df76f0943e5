// Package jsondepth measures how deeply JSON nests without decoding it, so that parsers of outside
// input can refuse a hostile body cheaply: encoding/json would recurse thousands of levels first.
package jsondepth

// Exceeds reports whether body nests objects and arrays deeper than max, counting only brackets
// outside strings. It does not check that body is valid JSON.
func Exceeds(body []byte, max int) bool {
	depth := 0
	inString, escaped := false, false
	for _, c := range body {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > max {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}
