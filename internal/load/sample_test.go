package load

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	statusText = "Name:\ttocsin\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t 1300000 kB\nVmRSS:\t   52340 kB\nRssAnon:\t   40000 kB\nThreads:\t12\n"
	statText   = "4242 (tocsin) S 1 4242 4242 0 -1 4194560 9512 0 0 0 1234 567 0 0 20 0 12 0 297388 1331200000 13085 18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0"
)

func TestRSSIsReadFromProcStatus(t *testing.T) {
	tests := []struct {
		name, status string
		want         int64
		wantErr      string
	}{
		{"a running process", statusText, 52340 * 1024, ""},
		{"a zero RSS", "VmRSS:\t0 kB\n", 0, ""},
		{"a kernel thread has no VmRSS", "Name:\tkthreadd\nState:\tS\n", 0, "no VmRSS"},
		{"a unit other than kB", "VmRSS:\t12 MB\n", 0, "not \"VmRSS: N kB\""},
		{"a negative size", "VmRSS:\t-5 kB\n", 0, "not a size"},
		{"a size that overflows", "VmRSS:\t99999999999999999 kB\n", 0, "not a size"},
		{"empty", "", 0, "no VmRSS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatusRSS([]byte(tt.status))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestCPUTicksAreReadFromProcStatEvenWithAStrangeCommandName(t *testing.T) {
	tests := []struct {
		name, stat string
		want       uint64
		wantErr    string
	}{
		{"a plain command", statText, 1234 + 567, ""},
		{"a command with spaces and parentheses", strings.Replace(statText, "(tocsin)", "(a b) (c) d)", 1), 1234 + 567, ""},
		{"no command", "4242 S 1", 0, "no (command)"},
		{"a parenthesis closed before it opens", ") x (", 0, "no (command)"},
		{"too few fields", "4242 (tocsin) S 1 2 3", 0, "want at least 13"},
		{"utime not a number", strings.Replace(statText, " 1234 ", " x ", 1), 0, "utime"},
		{"a sum that overflows", strings.Replace(strings.Replace(statText, " 1234 ", " 18446744073709551615 ", 1), " 567 ", " 1 ", 1), 0, "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatCPUTicks([]byte(tt.stat))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

const metricsText = `# HELP go_gc_duration_seconds A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.3e-05
# HELP go_goroutines_total_made_up A metric whose name starts the same.
go_goroutines_total_made_up 99
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 37
go_threads 9
`

func TestGoroutinesAreReadFromPrometheusText(t *testing.T) {
	tests := []struct {
		name, text string
		want       int
		wantErr    string
	}{
		{"client_golang's output", metricsText, 37, ""},
		{"with labels holding braces and quotes", `go_goroutines{job="a}\"b",x="y"} 12 1700000000000` + "\n", 12, ""},
		{"in exponent form", "go_goroutines 1.2e+03\n", 1200, ""},
		{"absent", "go_threads 9\n", 0, "no go_goroutines"},
		{"without a value", "go_goroutines \n", 0, "no value"},
		{"NaN", "go_goroutines NaN\n", 0, "not a count"},
		{"negative", "go_goroutines -3\n", 0, "not a count"},
		{"a fraction", "go_goroutines 3.5\n", 0, "not a count"},
		{"labels never closed", `go_goroutines{job="a} 3` + "\n", 0, "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseGoroutines(strings.NewReader(tt.text))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestTheTestsOwnProcessIsReadFromProc(t *testing.T) {
	// Burn some CPU so that there is something to count.
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	rss, cpu, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 || rss > 64<<30 {
		t.Errorf("RSS %d bytes is not a Go test's", rss)
	}
	if cpu <= 0 || cpu > 3600 {
		t.Errorf("CPU %.2f s is not a Go test's", cpu)
	}
	if _, _, err := ReadProc(1 << 30); err == nil {
		t.Error("read a process that cannot exist")
	}
}

func TestTheSamplerFollowsThePIDFileOrFuncAndReadsGoroutinesFromMetrics(t *testing.T) {
	srv := newHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, metricsText)
	}))
	pidFile := filepath.Join(t.TempDir(), "tocsin.pid")
	s := &sampler{pidFile: pidFile, metricsURL: srv.URL + "/metrics", client: newClient(1, time.Second), start: time.Now(),
		counts: func() (int64, int64) { return 7, 3 }}

	x := s.take(context.Background())
	if x.PID != 0 || x.RSS != -1 || x.CPU != -1 {
		t.Errorf("without a PID file: %+v, want PID 0 and RSS, CPU unknown", x)
	}
	if x.Goroutines != 37 || x.Acked != 7 || x.Emails != 3 {
		t.Errorf("sample %+v, want 37 goroutines, 7 acked, 3 emails", x)
	}

	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	x = s.take(context.Background())
	if x.PID != os.Getpid() || x.RSS <= 0 || x.CPU <= 0 {
		t.Errorf("with a PID file: %+v", x)
	}

	s.pidFunc = func() int { return 1 << 30 } // a process that cannot exist, as a killed tocsin
	if x = s.take(context.Background()); x.PID != 1<<30 || x.RSS != -1 || x.CPU != -1 {
		t.Errorf("with a PID func naming a dead process: %+v", x)
	}

	s.metricsURL = srv.URL + "/nothing"
	if x = s.take(context.Background()); x.Goroutines != -1 {
		t.Errorf("goroutines %d from a 404", x.Goroutines)
	}
}
