package load

import (
	"bytes"
	"math"
	"testing"
)

// The /proc and /metrics parsers read text from outside the generator (another process's /proc
// files, a server's /metrics). Besides never panicking, each must return either an error or a value
// in range. Seed corpora are in testdata/fuzz/.
//
//	go test -run='^$' -fuzz=FuzzParseStatusRSS     ./internal/load/
//	go test -run='^$' -fuzz=FuzzParseStatCPUTicks  ./internal/load/
//	go test -run='^$' -fuzz=FuzzParseGoroutines    ./internal/load/

func FuzzParseStatusRSS(f *testing.F) {
	f.Add([]byte(statusText))
	f.Add([]byte("VmRSS:\t0 kB\n"))
	f.Fuzz(func(t *testing.T, status []byte) {
		rss, err := ParseStatusRSS(status)
		if err == nil && (rss < 0 || rss%1024 != 0) {
			t.Fatalf("RSS %d bytes is not a whole number of kB", rss)
		}
		if err != nil && rss != 0 {
			t.Fatalf("an error and a value %d", rss)
		}
	})
}

func FuzzParseStatCPUTicks(f *testing.F) {
	f.Add([]byte(statText))
	f.Add([]byte("1 ((a) b)) R 0 0 0 0 0 0 0 0 0 0 5 6 0"))
	f.Fuzz(func(t *testing.T, stat []byte) {
		ticks, err := ParseStatCPUTicks(stat)
		if err != nil && ticks != 0 {
			t.Fatalf("an error and a value %d", ticks)
		}
		if err == nil && bytes.LastIndexByte(stat, ')') < 0 {
			t.Fatal("accepted a stat line without a command")
		}
	})
}

func FuzzParseGoroutines(f *testing.F) {
	f.Add([]byte(metricsText))
	f.Add([]byte(`go_goroutines{a="}\"",b="c"} 5 1700000000000`))
	f.Fuzz(func(t *testing.T, text []byte) {
		n, err := ParseGoroutines(bytes.NewReader(text))
		if err == nil && (n < 0 || n > math.MaxInt32) {
			t.Fatalf("goroutines %d", n)
		}
		if err != nil && n != 0 {
			t.Fatalf("an error and a value %d", n)
		}
	})
}
