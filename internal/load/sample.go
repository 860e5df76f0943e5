package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Sample is one reading of the server and the run, taken every Config.SampleEvery. Values that could
// not be read (no PID given, the process gone while tocsin restarts, /metrics unreachable) are -1.
type Sample struct {
	At         time.Time `json:"at"`
	Elapsed    float64   `json:"elapsedS"` // seconds since the run started
	PID        int       `json:"pid"`      // 0 when none was given
	RSS        int64     `json:"rssBytes"`
	CPU        float64   `json:"cpuS"` // user + system seconds of the process since it started
	Goroutines int       `json:"goroutines"`
	Acked      int64     `json:"acked"`  // requests answered 2xx so far in the run, all kinds
	Emails     int64     `json:"emails"` // emails about this run's findings so far
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on every Linux
// architecture Go runs on (sysconf(_SC_CLK_TCK) needs cgo to ask).
const clockTicks = 100

// ReadProc reads the resident memory (bytes) and the CPU time (user + system, seconds) of process
// pid from /proc.
func ReadProc(pid int) (rss int64, cpu float64, err error) {
	dir := "/proc/" + strconv.Itoa(pid)
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return 0, 0, fmt.Errorf("load: %w", err)
	}
	if rss, err = ParseStatusRSS(status); err != nil {
		return 0, 0, fmt.Errorf("load: %s/status: %w", dir, err)
	}
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("load: %w", err)
	}
	ticks, err := ParseStatCPUTicks(stat)
	if err != nil {
		return 0, 0, fmt.Errorf("load: %s/stat: %w", dir, err)
	}
	return rss, float64(ticks) / clockTicks, nil
}

// ParseStatusRSS reads VmRSS from the text of /proc/PID/status ("VmRSS:	  12345 kB"), in bytes.
func ParseStatusRSS(status []byte) (int64, error) {
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q is not \"VmRSS: N kB\"", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > math.MaxInt64/1024 {
			return 0, fmt.Errorf("VmRSS %q is not a size in kB", f[0])
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no VmRSS line (a kernel thread, or a zombie)")
}

// ParseStatCPUTicks reads utime + stime, in clock ticks, from the text of /proc/PID/stat: fields 14
// and 15, counted after the command name, which is in parentheses and may itself hold spaces and
// parentheses.
func ParseStatCPUTicks(stat []byte) (uint64, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 || bytes.IndexByte(stat, '(') < 0 || bytes.IndexByte(stat, '(') > end {
		return 0, errors.New("no (command) field")
	}
	f := strings.Fields(string(stat[end+1:]))
	// f[0] is field 3 (state), so utime (14) is f[11] and stime (15) f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command, want at least 13", len(f))
	}
	utime, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime %q: %w", f[11], err)
	}
	stime, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime %q: %w", f[12], err)
	}
	if utime > math.MaxUint64-stime {
		return 0, errors.New("utime + stime overflows")
	}
	return utime + stime, nil
}

// ParseGoroutines reads the go_goroutines gauge from a Prometheus text exposition (what /metrics
// serves). The first sample of it counts, with or without labels.
func ParseGoroutines(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t")
		rest, ok := strings.CutPrefix(line, "go_goroutines")
		if !ok || rest == "" {
			continue
		}
		switch rest[0] {
		case ' ', '\t':
		case '{':
			end := labelsEnd(rest)
			if end < 0 {
				return 0, errors.New("go_goroutines: unterminated labels")
			}
			rest = rest[end+1:]
		default:
			continue // another metric whose name starts with go_goroutines
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, errors.New("go_goroutines: no value")
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil || math.IsNaN(v) || v < 0 || v > math.MaxInt32 || v != math.Trunc(v) {
			return 0, fmt.Errorf("go_goroutines: %q is not a count", f[0])
		}
		return int(v), nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading metrics: %w", err)
	}
	return 0, errors.New("no go_goroutines metric")
}

// labelsEnd is the index of the '}' that closes the label set s starts with, skipping quoted label
// values (which may hold '}' and escaped quotes); -1 when there is none.
func labelsEnd(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '}':
			return i
		}
	}
	return -1
}

// sampler takes Samples until its context ends.
type sampler struct {
	pid        int
	pidFile    string
	pidFunc    func() int
	metricsURL string
	client     *http.Client
	start      time.Time
	counts     func() (acked, emails int64)
}

// currentPID is the PID to read: from the func or the file when one is given (asked every time, so
// a tocsin restarted under a new PID is followed), else the fixed one; 0 for none.
func (s *sampler) currentPID() int {
	if s.pidFunc != nil {
		return max(s.pidFunc(), 0)
	}
	if s.pidFile == "" {
		return s.pid
	}
	raw, err := os.ReadFile(s.pidFile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

func (s *sampler) take(ctx context.Context) Sample {
	now := time.Now()
	x := Sample{At: now, Elapsed: now.Sub(s.start).Seconds(), PID: s.currentPID(), RSS: -1, CPU: -1, Goroutines: -1}
	if x.PID > 0 {
		if rss, cpu, err := ReadProc(x.PID); err == nil {
			x.RSS, x.CPU = rss, cpu
		}
	}
	if s.metricsURL != "" {
		if n, err := s.goroutines(ctx); err == nil {
			x.Goroutines = n
		}
	}
	x.Acked, x.Emails = s.counts()
	return x
}

func (s *sampler) goroutines(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.metricsURL, nil)
	if err != nil {
		return 0, err
	}
	res, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", s.metricsURL, res.Status)
	}
	return ParseGoroutines(io.LimitReader(res.Body, 16<<20))
}

// run samples every interval until ctx ends, then once more, and returns the samples.
func (s *sampler) run(ctx context.Context, every time.Duration) []Sample {
	t := time.NewTicker(every)
	defer t.Stop()
	out := []Sample{s.take(ctx)}
	for {
		select {
		case <-ctx.Done():
			return append(out, s.take(context.WithoutCancel(ctx)))
		case <-t.C:
			out = append(out, s.take(ctx))
		}
	}
}
