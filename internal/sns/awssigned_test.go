package sns

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// These messages were signed by Amazon SNS itself (see testdata/aws-signed/README.md). Every other test
// signs with snstest, which uses this package's StringToSign, so only these catch a canonical form that
// is consistently wrong on both sides.
func TestMessagesSignedByAWSVerifyAgainstTheirCertificate(t *testing.T) {
	pemBytes, err := os.ReadFile(filepath.Join("testdata", "aws-signed", "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := parseSigningCert(pemBytes)
	if err != nil {
		t.Fatalf("AWS's certificate is refused: %v", err)
	}
	for _, name := range []string{"notification-v1.json", "notification-v2.json"} {
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "aws-signed", name))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			sig, err := base64.StdEncoding.DecodeString(m.Signature)
			if err != nil {
				t.Fatal(err)
			}
			pub := cert.PublicKey.(*rsa.PublicKey)
			if err := checkSignature(m, sig, pub); err != nil {
				t.Fatalf("AWS's own signature does not verify: %v", err)
			}
			m.Message += " "
			if err := checkSignature(m, sig, pub); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("altered message: got %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestSigningCertificatesMustBeExactlyOnePEMCertificate(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "aws-signed", "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(good)
	tests := []struct {
		name string
		body []byte
		ok   bool
	}{
		{"a PEM certificate is accepted", good, true},
		{"surrounding whitespace is accepted", append(append([]byte("\n\n"), good...), "\n\n"...), true},
		{"text before the certificate is refused", append([]byte("<xml>\n"), good...), false},
		{"text after the certificate is refused", append(append([]byte{}, good...), "</xml>"...), false},
		{"a second PEM block is refused", append(append([]byte{}, good...), good...), false},
		{"a private key block is refused", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: block.Bytes}), false},
		{"DER is refused", block.Bytes, false},
		{"an empty body is refused", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSigningCert(tt.body)
			if (err == nil) != tt.ok {
				t.Fatalf("parseSigningCert: err = %v, want ok = %v", err, tt.ok)
			}
		})
	}
}
