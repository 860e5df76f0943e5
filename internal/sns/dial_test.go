package sns

import "testing"

// The allow list checks how a URL spells its host; this guard checks where DNS actually sends the
// connection, so a name that resolves to the metadata service is still refused.
func TestConnectionsToMetadataAddressesAreRefusedAfterDNS(t *testing.T) {
	tests := map[string]bool{
		"169.254.169.254:443":          false,
		"169.254.170.2:80":             false,
		"[fd00:ec2::254]:443":          false,
		"[fe80::1]:443":                false,
		"0.0.0.0:443":                  false,
		"[::ffff:169.254.169.254]:443": false,
		"127.0.0.1:8443":               true,
		"52.94.236.248:443":            true,
		"[2600:1f18::1]:443":           true,
	}
	for address, allowed := range tests {
		t.Run(address, func(t *testing.T) {
			err := refuseForbiddenAddrs("tcp", address, nil)
			if (err == nil) != allowed {
				t.Fatalf("refuseForbiddenAddrs(%s) = %v, want allowed = %v", address, err, allowed)
			}
		})
	}
}
