package load

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSignFinding measures how many signed requests the generator can make a second on all
// cores: build the finding's event and sign it, as the signer goroutines do ahead of the senders.
//
//	go test -run='^$' -bench=BenchmarkSignFinding ./internal/load/
func BenchmarkSignFinding(b *testing.B) {
	s, err := NewSigner(SignerConfig{Dir: b.TempDir(), Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := &runner{cfg: Config{Signer: s, RunID: "bench"}}
	p := newPlanner(Mix{}, 0, 1)
	var failed atomic.Bool
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		bld, err := newBuilder("bench")
		if err != nil {
			failed.Store(true)
			return
		}
		for pb.Next() {
			pl, _ := p.next()
			if _, err := r.sign(bld, pl); err != nil {
				failed.Store(true)
				return
			}
		}
	})
	if failed.Load() {
		b.Fatal("signing failed")
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "signed/s")
}
