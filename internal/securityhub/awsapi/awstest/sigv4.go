package awstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file checks AWS Signature Version 4 independently of the SDK that signs, following AWS's
// published algorithm (canonical request, string to sign, derived signing key), so that a signing
// mistake in how tocsin configures the SDK fails here as it would at AWS.

const sigAlgorithm = "AWS4-HMAC-SHA256"

// maxSkew is how far X-Amz-Date may be from the server's clock, as at AWS.
const maxSkew = 15 * time.Minute

type signature struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        []byte
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=AKID/20260102/us-east-1/sts/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=hex". It returns a problem, in AWS's words where AWS has
// some, instead of an error.
func parseAuthorization(h string) (signature, string) {
	var sig signature
	rest, ok := strings.CutPrefix(h, sigAlgorithm+" ")
	if !ok {
		return sig, "Authorization header requires the " + sigAlgorithm + " algorithm"
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return sig, "Authorization header requires each component to be of the form key=value"
		}
		if _, dup := fields[k]; dup {
			return sig, "Authorization header repeats " + k
		}
		fields[k] = v
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if fields[k] == "" {
			return sig, "Authorization header requires '" + k + "' parameter"
		}
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || scope[0] == "" {
		return sig, "Credential should be of the form AKID/yyyymmdd/region/service/aws4_request"
	}
	if _, err := time.Parse("20060102", scope[1]); err != nil {
		return sig, "Credential date is not of the form yyyymmdd"
	}
	sig.accessKey, sig.date, sig.region, sig.service = scope[0], scope[1], scope[2], scope[3]
	sig.signedHeaders = strings.Split(fields["SignedHeaders"], ";")
	for _, name := range sig.signedHeaders {
		if name == "" || name != strings.ToLower(name) {
			return sig, "SignedHeaders must be lower-case header names separated by ';'"
		}
	}
	if !slices.IsSorted(sig.signedHeaders) {
		return sig, "SignedHeaders must be sorted"
	}
	if !slices.Contains(sig.signedHeaders, "host") {
		return sig, "'Host' must be a signed header"
	}
	if !slices.Contains(sig.signedHeaders, "x-amz-date") {
		return sig, "'X-Amz-Date' must be a signed header"
	}
	s, err := hex.DecodeString(fields["Signature"])
	if err != nil || len(s) != sha256.Size {
		return sig, "Signature must be 64 hexadecimal digits"
	}
	sig.signature = s
	return sig, ""
}

// verify recomputes the signature of r with secret. It returns "" when it matches.
func verify(r *http.Request, body []byte, sig signature, secret string, now time.Time) string {
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return "X-Amz-Date must be of the form yyyymmddThhmmssZ"
	}
	if d := now.Sub(t); d > maxSkew || d < -maxSkew {
		return "Signature expired: " + amzDate + " is not within " + maxSkew.String() + " of the server's time " + now.UTC().Format("20060102T150405Z")
	}
	if amzDate[:8] != sig.date {
		return "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" + sig.date + "' != '" + amzDate[:8] + "'"
	}
	payload := sha256.Sum256(body)
	payloadHex := hex.EncodeToString(payload[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payloadHex {
		return "The provided 'x-amz-content-sha256' header does not match what was computed."
	}
	canonical := strings.Join([]string{
		r.Method,
		canonicalURI(r.URL),
		canonicalQuery(r.URL),
		canonicalHeaders(r, sig.signedHeaders),
		strings.Join(sig.signedHeaders, ";"),
		payloadHex,
	}, "\n")
	scope := sig.date + "/" + sig.region + "/" + sig.service + "/aws4_request"
	hashed := sha256.Sum256([]byte(canonical))
	toSign := sigAlgorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(hashed[:])
	key := hmacSHA256([]byte("AWS4"+secret), sig.date)
	key = hmacSHA256(key, sig.region)
	key = hmacSHA256(key, sig.service)
	key = hmacSHA256(key, "aws4_request")
	if !hmac.Equal(hmacSHA256(key, toSign), sig.signature) {
		return "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	}
	return ""
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalURI encodes the path as every service but S3 expects: each segment of the path as sent
// (already percent-encoded) is encoded once more.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	segments := strings.Split(p, "/")
	for i, s := range segments {
		segments[i] = uriEncode(s)
	}
	return strings.Join(segments, "/")
}

// canonicalQuery sorts parameters by name, then value, each encoded as RFC 3986 says.
func canonicalQuery(u *url.URL) string {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return u.RawQuery // cannot match what the client signed; the signature check says so
	}
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, uriEncode(k)+"="+uriEncode(v))
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&")
}

// canonicalHeaders lists the signed headers with values trimmed, inner runs of spaces collapsed and
// repeated headers joined with commas, each line ending in a newline. Go moves Host out of the
// header map into r.Host, and may keep Content-Length only in r.ContentLength.
func canonicalHeaders(r *http.Request, names []string) string {
	var b strings.Builder
	for _, name := range names {
		var values []string
		switch name {
		case "host":
			values = []string{r.Host}
		default:
			values = slices.Clone(r.Header.Values(http.CanonicalHeaderKey(name)))
			if name == "content-length" && len(values) == 0 && r.ContentLength >= 0 {
				values = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		}
		for i, v := range values {
			values[i] = collapseSpaces(v)
		}
		b.WriteString(name + ":" + strings.Join(values, ",") + "\n")
	}
	return b.String()
}

// collapseSpaces trims spaces at both ends and turns each run of spaces inside into one.
func collapseSpaces(v string) string {
	v = strings.Trim(v, " ")
	for strings.Contains(v, "  ") {
		v = strings.ReplaceAll(v, "  ", " ")
	}
	return v
}

// uriEncode percent-encodes every byte but the unreserved characters of RFC 3986, in upper case.
func uriEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
