package snstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// keys are what a Server signs with: the CA that issues its TLS and signing certificates, and the
// RSA key messages are signed with.
type keys struct {
	ca      *x509.Certificate
	caKey   *ecdsa.PrivateKey
	signKey *rsa.PrivateKey
}

// loadOrMakeKeys returns the keys kept in dir, making (and, when dir is set, writing) them when there
// are none yet. An empty dir means fresh keys kept nowhere.
//
// CAFileName is written last, so its presence says the set is complete: without it the keys are made
// again (overwriting any key file a crash left behind); with it, both key files must be there and
// match, else the error names what is wrong rather than quietly replacing a CA someone trusts.
func loadOrMakeKeys(dir string, now time.Time) (*keys, error) {
	if dir == "" {
		return makeKeys(now)
	}
	caPath := filepath.Join(dir, CAFileName)
	if _, err := os.Stat(caPath); err == nil {
		return loadKeys(dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("snstest: %w", err)
	}
	k, err := makeKeys(now)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("snstest: making the key directory: %w", err)
	}
	caKeyDER, err := x509.MarshalPKCS8PrivateKey(k.caKey)
	if err != nil {
		return nil, fmt.Errorf("snstest: encoding the CA key: %w", err)
	}
	signKeyDER, err := x509.MarshalPKCS8PrivateKey(k.signKey)
	if err != nil {
		return nil, fmt.Errorf("snstest: encoding the signing key: %w", err)
	}
	for _, f := range []struct {
		name, typ string
		der       []byte
		mode      os.FileMode
	}{
		{CAKeyFileName, "PRIVATE KEY", caKeyDER, 0o600},
		{SigningKeyFileName, "PRIVATE KEY", signKeyDER, 0o600},
		{CAFileName, "CERTIFICATE", k.ca.Raw, 0o644}, // last: see above
	} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), f.mode); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// makeKeys makes a CA and a signing key. The CA is ECDSA because RSA key generation is slow,
// especially under -race; only the message signing key has to be RSA, as SNS's is.
func makeKeys(now time.Time) (*keys, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("snstest: CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "tocsin snstest CA", Organization: []string{"tocsin tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("snstest: CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("snstest: CA certificate: %w", err)
	}
	signKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("snstest: signing key: %w", err)
	}
	return &keys{ca: ca, caKey: caKey, signKey: signKey}, nil
}

// loadKeys reads the three files of dir and checks that they belong together.
func loadKeys(dir string) (*keys, error) {
	caDER, err := readPEM(dir, CAFileName, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("snstest: %s: %w", filepath.Join(dir, CAFileName), err)
	}
	if !ca.IsCA {
		return nil, fmt.Errorf("snstest: %s is not a CA certificate", filepath.Join(dir, CAFileName))
	}
	if time.Now().After(ca.NotAfter) {
		return nil, fmt.Errorf("snstest: the CA in %s expired on %s; remove the directory to make a new one", dir, ca.NotAfter.Format(time.DateOnly))
	}
	caKey, err := readKey[*ecdsa.PrivateKey](dir, CAKeyFileName)
	if err != nil {
		return nil, err
	}
	if !caKey.PublicKey.Equal(ca.PublicKey) {
		return nil, fmt.Errorf("snstest: %s is not the key of %s", filepath.Join(dir, CAKeyFileName), filepath.Join(dir, CAFileName))
	}
	signKey, err := readKey[*rsa.PrivateKey](dir, SigningKeyFileName)
	if err != nil {
		return nil, err
	}
	if signKey.N.BitLen() < 2048 {
		return nil, fmt.Errorf("snstest: %s: an RSA key of %d bits, want at least 2048", filepath.Join(dir, SigningKeyFileName), signKey.N.BitLen())
	}
	return &keys{ca: ca, caKey: caKey, signKey: signKey}, nil
}

// readPEM returns the DER of the one PEM block of type typ in dir/name.
func readPEM(dir, name, typ string) ([]byte, error) {
	path := filepath.Join(dir, name)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("snstest: the key directory is incomplete (remove it to start again): %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != typ {
		return nil, fmt.Errorf("snstest: %s holds no PEM %s", path, typ)
	}
	return block.Bytes, nil
}

// readKey reads a PKCS #8 private key of type K from dir/name.
func readKey[K any](dir, name string) (K, error) {
	var zero K
	der, err := readPEM(dir, name, "PRIVATE KEY")
	if err != nil {
		return zero, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return zero, fmt.Errorf("snstest: %s: %w", filepath.Join(dir, name), err)
	}
	k, ok := key.(K)
	if !ok {
		return zero, fmt.Errorf("snstest: %s holds a %T, want a %T", filepath.Join(dir, name), key, zero)
	}
	return k, nil
}

// writeFileAtomic writes data to path through a temporary file in the same directory, so that a
// crash leaves either the old file or the new one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("snstest: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("snstest: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("snstest: writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("snstest: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("snstest: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("snstest: %w", err)
	}
	return nil
}
