package sns_test

import (
	"context"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/sns"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
)

// BenchmarkParse measures decoding one Security Hub notification (about 3.7 KB).
func BenchmarkParse(b *testing.B) {
	body := readTestdata(b, "notification-securityhub.json")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := sns.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures verifying one message once the certificate is cached: the per-message cost
// of the intake, an RSA-2048 verification and a SHA hash.
func BenchmarkVerify(b *testing.B) {
	for _, version := range []string{"1", "2"} {
		b.Run("SignatureVersion "+version, func(b *testing.B) {
			s := snstest.NewServer(b, snstest.Config{SignatureVersion: version})
			v, err := sns.NewVerifier(s.VerifierOptions())
			if err != nil {
				b.Fatal(err)
			}
			m := s.Notification(s.TopicARN(topicName), "", string(readTestdata(b, "eventbridge-securityhub.json")))
			ctx := context.Background()
			if err := v.Verify(ctx, m); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := v.Verify(ctx, m); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
