package sns_test

import (
	"slices"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/sns"
)

func TestHostPatternsAllowExactlyTheHostsTheyName(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		url      string
		allowed  bool
	}{
		{"defaults allow a commercial region", nil, "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem", true},
		{"defaults allow GovCloud", nil, "https://sns.us-gov-west-1.amazonaws.com/x.pem", true},
		{"defaults allow GovCloud FIPS", nil, "https://sns-fips.us-gov-west-1.amazonaws.com/x.pem", true},
		{"defaults allow China", nil, "https://sns.cn-north-1.amazonaws.com.cn/x.pem", true},
		{"defaults allow the ISO partition", nil, "https://sns.us-iso-east-1.c2s.ic.gov/x.pem", true},
		{"defaults allow the ISO-B partition", nil, "https://sns.us-isob-east-1.sc2s.sgov.gov/x.pem", true},
		{"host names are case-insensitive", nil, "https://SNS.EU-CENTRAL-1.AMAZONAWS.COM/x.pem", true},
		{"an explicit default port is the default port", nil, "https://sns.eu-central-1.amazonaws.com:443/x.pem", true},
		{"defaults refuse another port", nil, "https://sns.eu-central-1.amazonaws.com:8443/x.pem", false},
		{"a wildcard matches exactly one label", nil, "https://sns.a.us-east-1.amazonaws.com/x.pem", false},
		{"a wildcard does not match nothing", nil, "https://sns.amazonaws.com/x.pem", false},
		{"a wildcard under an AWS domain matches only a region, not an S3 bucket endpoint", nil, "https://sns.s3.amazonaws.com/x.pem", false},
		{"a wildcard under an AWS domain does not match a legacy S3 endpoint", nil, "https://sns.s3-external-1.amazonaws.com/x.pem", false},
		{"a China pattern is not a commercial one", []string{"sns.*.amazonaws.com.cn"}, "https://sns.us-east-1.amazonaws.com/x.pem", false},
		{"an IP and port pattern allows that address and port", []string{"127.0.0.1:8443"}, "https://127.0.0.1:8443/x.pem", true},
		{"an IP and port pattern refuses the default port", []string{"127.0.0.1:8443"}, "https://127.0.0.1/x.pem", false},
		{"an IP and port pattern refuses another port", []string{"127.0.0.1:8443"}, "https://127.0.0.1:8444/x.pem", false},
		{"an IP pattern refuses another address", []string{"127.0.0.1:8443"}, "https://127.0.0.2:8443/x.pem", false},
		{"an IPv6 pattern allows that address", []string{"[::1]:8443"}, "https://[::1]:8443/x.pem", true},
		{"a name pattern never matches an IP address", []string{"*.example.com"}, "https://10.1.2.3/x.pem", false},
		{"a LocalStack host with port", []string{"localhost.localstack.cloud:4566"}, "https://localhost.localstack.cloud:4566/x.pem", true},
		{"a wildcard outside AWS domains matches any one label", []string{"*.example.com"}, "https://sns-1.example.com/x.pem", true},
		{"a wildcard outside AWS domains still matches one label only", []string{"*.example.com"}, "https://a.b.example.com/x.pem", false},
		{"custom patterns replace the defaults", []string{"127.0.0.1:8443"}, "https://sns.us-east-1.amazonaws.com/x.pem", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, _ := noNetwork(t)
			v, err := sns.NewVerifier(sns.Options{Hosts: tt.patterns, HTTPClient: client})
			if err != nil {
				t.Fatal(err)
			}
			err = v.CheckURL(tt.url)
			if tt.allowed {
				wantErr(t, err, nil)
			} else {
				wantErr(t, err, sns.ErrUntrustedURL)
			}
		})
	}
}

func TestNewVerifierRefusesHostPatternsItCannotMatchSafely(t *testing.T) {
	for _, pattern := range []string{
		"",
		"   ",
		"https://sns.us-east-1.amazonaws.com",
		"sns.*.amazonaws.com/path",
		"user@sns.us-east-1.amazonaws.com",
		"*",
		"*.*",
		"sns.*.amazon_aws.com",
		"sns..amazonaws.com",
		"sns.us-east-1.amazonaws.com.",
		"sns*.amazonaws.com",
		"::1",
		"[::1",
		"[localhost]:8443",
		"127.0.0.1:0",
		"127.0.0.1:99999",
		"127.0.0.1:https",
		"169.254.169.254",
		"[fd00:ec2::254]",
		"[fe80::1]:443",
		"0.0.0.0:8443",
		"224.0.0.1",
		"127.1",
	} {
		t.Run(pattern, func(t *testing.T) {
			if _, err := sns.NewVerifier(sns.Options{Hosts: []string{pattern}}); err == nil {
				t.Fatalf("pattern %q was accepted", pattern)
			}
		})
	}
}

func TestVerifierReportsTheAllowListInEffect(t *testing.T) {
	v, err := sns.NewVerifier(sns.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.HostPatterns(); !slices.Equal(got, sns.DefaultHostPatterns()) {
		t.Fatalf("HostPatterns = %q, want the defaults", got)
	}
}

func TestNewVerifierRefusesConflictingOrEmptyTrustSettings(t *testing.T) {
	client, _ := noNetwork(t)
	tests := map[string]sns.Options{
		"a client and extra roots together": {HTTPClient: client, ExtraRootsPEM: []byte("-----BEGIN CERTIFICATE-----")},
		"extra roots without a certificate": {ExtraRootsPEM: []byte("not PEM")},
		"a negative timeout":                {Timeout: -1},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := sns.NewVerifier(opts); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
