package securityhub_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/securityhub"
)

// BenchmarkParseAndDecide measures the pure part of intake per event: one realistic GuardDuty finding,
// and 100 of them (the most one event may carry). Compare ns/op ÷ findings against the intake's budget.
func BenchmarkParseAndDecide(b *testing.B) {
	one := readEvent(b, "guardduty.json")
	var ev map[string]any
	if err := json.Unmarshal(one, &ev); err != nil {
		b.Fatal(err)
	}
	f := ev["detail"].(map[string]any)["findings"].([]any)[0].(map[string]any)
	fs := make([]string, securityhub.MaxFindingsPerEvent)
	for i := range fs {
		f["Id"] = fmt.Sprintf("arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/%032d", i)
		raw, _ := json.Marshal(f)
		fs[i] = string(raw)
	}
	hundred := eventWith(fs...)
	for _, bc := range []struct {
		name     string
		body     []byte
		findings int
	}{{"findings=1", one, 1}, {"findings=100", hundred, 100}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				ev, err := securityhub.ParseEvent(bc.body)
				if err != nil {
					b.Fatal(err)
				}
				if ds := securityhub.Decide(ev, securityhub.Filter{MinSeverity: "LOW"}, securityhub.Options{}); len(ds) != bc.findings {
					b.Fatal(len(ds))
				}
			}
			b.ReportMetric(float64(b.N*bc.findings)/b.Elapsed().Seconds(), "findings/s")
		})
	}
}
