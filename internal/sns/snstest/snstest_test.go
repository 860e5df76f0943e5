package snstest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/sns"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
)

func TestAServerWorksOutsideTestsAndStopsOnClose(t *testing.T) {
	s, err := snstest.New(snstest.Config{SignatureVersion: "2"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := sns.NewVerifier(s.VerifierOptions())
	if err != nil {
		t.Fatal(err)
	}
	m := s.Notification(s.TopicARN("t"), "subject", "message")
	if m.SignatureVersion != "2" || m.SigningCertURL != s.CertURL() {
		t.Fatalf("message not signed as configured: %+v", m)
	}
	if err := v.Verify(context.Background(), m); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	s.Close()
	resp, err := s.Client().Get(s.CertURL())
	if err == nil {
		resp.Body.Close()
		t.Fatal("server still answers after Close")
	}
}

func TestNewRefusesAnUnknownSignatureVersion(t *testing.T) {
	if _, err := snstest.New(snstest.Config{SignatureVersion: "3"}); err == nil {
		t.Fatal("accepted SignatureVersion 3")
	}
}

func TestSignRefusesWhatSNSWouldNotSign(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	m := s.Notification(s.TopicARN("t"), "", "x")
	if err := s.Sign(m, "3"); err == nil {
		t.Error("signed with version 3")
	}
	if err := s.Sign(nil, "1"); err == nil {
		t.Error("signed a nil message")
	}
	m.Type = "Telegram"
	if err := s.Sign(m, "1"); !errors.Is(err, sns.ErrMalformed) {
		t.Errorf("signing an unknown type: %v", err)
	}
}

func TestNewRequestLooksLikeAnSNSDelivery(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	m := s.Notification(s.TopicARN("t"), "", `{"detail-type":"Security Hub Findings - Imported"}`)

	req, err := snstest.NewRequest(context.Background(), "https://tocsin.example/v1/json/amazonsecurityhub", m)
	if err != nil {
		t.Fatal(err)
	}
	if !sns.FromSNS(req.Header) || req.Header.Get(sns.HeaderMessageType) != "Notification" || req.Header.Get(sns.HeaderMessageID) != m.MessageID {
		t.Fatalf("headers = %v", req.Header)
	}
	body, _ := io.ReadAll(req.Body)
	if _, err := sns.Parse(body); err != nil {
		t.Fatalf("body does not parse: %v", err)
	}

	raw, err := snstest.NewRawRequest(context.Background(), "https://tocsin.example/", m)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(raw.Body)
	if _, err := sns.Parse(body); !errors.Is(err, sns.ErrRawDelivery) || !sns.FromSNS(raw.Header) {
		t.Fatalf("raw delivery: Parse error %v, FromSNS %v", err, sns.FromSNS(raw.Header))
	}
}

func TestTheServerConfirmsOnlyTokensItIssued(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	m := s.SubscriptionConfirmation(s.TopicARN("t"))
	client := s.Client()
	for url, want := range map[string]int{
		m.SubscribeURL: http.StatusOK,
		s.URL() + "/?Action=ConfirmSubscription&TopicArn=" + m.TopicARN + "&Token=forged": http.StatusBadRequest,
	} {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", url, resp.StatusCode, want)
		}
	}
	if n := s.Confirmations(); n != 2 {
		t.Fatalf("Confirmations = %d, want 2", n)
	}
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestAServerOnADirSignsWithTheSameCAAfterARestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs") // made on first use
	addr := freeAddr(t)

	first, err := snstest.New(snstest.Config{Dir: dir, Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	if first.Host() != addr || first.URL() != "https://"+addr {
		t.Fatalf("Host %s, URL %s; want the address %s it was given", first.Host(), first.URL(), addr)
	}
	if first.CAFile() != filepath.Join(dir, snstest.CAFileName) {
		t.Fatalf("CAFile = %q", first.CAFile())
	}
	persisted, err := os.ReadFile(first.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(persisted, first.CAPEM()) {
		t.Fatal("ca.pem is not the CA the server uses")
	}
	// A verifier set up the way tocsin is: from the address and the file, before the restart.
	v, err := sns.NewVerifier(sns.Options{Hosts: []string{addr}, ExtraRootsPEM: persisted})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(context.Background(), first.Notification(first.TopicARN("t"), "", "before")); err != nil {
		t.Fatalf("before the restart: %v", err)
	}
	first.Close()

	second, err := snstest.New(snstest.Config{Dir: dir, Addr: addr})
	if err != nil {
		t.Fatalf("restart on the same directory and address: %v", err)
	}
	defer second.Close()
	if !bytes.Equal(second.CAPEM(), persisted) {
		t.Fatal("the restarted server made a new CA")
	}
	// Its signing certificate (new, at a new URL) still chains to the persisted CA, and its messages
	// verify both with the old verifier and with a fresh one.
	for name, v := range map[string]*sns.Verifier{"the verifier from before": v, "a new verifier": mustVerifier(t, sns.Options{Hosts: []string{addr}, ExtraRootsPEM: persisted})} {
		if err := v.Verify(context.Background(), second.Notification(second.TopicARN("t"), "", "after")); err != nil {
			t.Errorf("%s after the restart: %v", name, err)
		}
	}
}

func mustVerifier(t *testing.T, opts sns.Options) *sns.Verifier {
	t.Helper()
	v, err := sns.NewVerifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestTheKeysOfADirCanBeReadOnlyByTheirOwner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	s := snstest.NewServer(t, snstest.Config{Dir: dir})
	for name, want := range map[string]os.FileMode{
		".":                        0o700,
		snstest.CAKeyFileName:      0o600,
		snstest.SigningKeyFileName: 0o600,
		snstest.CAFileName:         0o644,
	} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s has mode %v, want %v", name, got, want)
		}
	}
	if s.Host() == "" || !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
		t.Errorf("without Addr the server should pick a free loopback port, got %s", s.URL())
	}
}

func TestADirThatIsIncompleteOrMismatchedIsRefusedNotReplaced(t *testing.T) {
	other := t.TempDir()
	snstest.NewServer(t, snstest.Config{Dir: other}).Close()

	tests := map[string]struct {
		breakIt func(t *testing.T, dir string)
		want    string
	}{
		"a missing CA key": {
			func(t *testing.T, dir string) { remove(t, dir, snstest.CAKeyFileName) },
			"incomplete",
		},
		"a missing signing key": {
			func(t *testing.T, dir string) { remove(t, dir, snstest.SigningKeyFileName) },
			"incomplete",
		},
		"the CA key of another directory": {
			func(t *testing.T, dir string) { copyFile(t, other, dir, snstest.CAKeyFileName) },
			"is not the key of",
		},
		"a CA file without a certificate": {
			func(t *testing.T, dir string) { write(t, dir, snstest.CAFileName, "not PEM") },
			"holds no PEM CERTIFICATE",
		},
		"a signing key that is the CA's ECDSA key": {
			func(t *testing.T, dir string) {
				copyFile(t, dir, dir, snstest.CAKeyFileName, snstest.SigningKeyFileName)
			},
			"want a *rsa.PrivateKey",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			snstest.NewServer(t, snstest.Config{Dir: dir}).Close()
			tt.breakIt(t, dir)
			after, _ := os.ReadFile(filepath.Join(dir, snstest.CAFileName))

			s, err := snstest.New(snstest.Config{Dir: dir})
			if err == nil {
				s.Close()
				t.Fatal("New accepted the directory")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if now, _ := os.ReadFile(filepath.Join(dir, snstest.CAFileName)); !bytes.Equal(now, after) {
				t.Error("New replaced the CA file")
			}
		})
	}
}

func TestADirWithoutItsCAFileIsMadeAgain(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, snstest.CAKeyFileName, "left behind by a crash before ca.pem was written")
	s := snstest.NewServer(t, snstest.Config{Dir: dir})
	v := mustVerifier(t, sns.Options{Hosts: []string{s.Host()}, ExtraRootsPEM: readFile(t, s.CAFile())})
	if err := v.Verify(context.Background(), s.Notification(s.TopicARN("t"), "", "x")); err != nil {
		t.Fatal(err)
	}
	snstest.NewServer(t, snstest.Config{Dir: dir}) // and the set it made loads
}

func TestNewFailsWhenItsAddrIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := snstest.New(snstest.Config{Addr: ln.Addr().String()})
	if err == nil {
		s.Close()
		t.Fatal("New listened on an address already in use")
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("error %q does not name the address", err)
	}
}

func remove(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// copyFile copies fromDir/name to toDir/name, or to toDir/as[0] when given.
func copyFile(t *testing.T, fromDir, toDir, name string, as ...string) {
	t.Helper()
	to := name
	if len(as) > 0 {
		to = as[0]
	}
	write(t, toDir, to, string(readFile(t, filepath.Join(fromDir, name))))
}
