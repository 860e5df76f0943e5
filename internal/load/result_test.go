package load

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentilesAreNearestRank(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, n := range v {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"none", nil, 0.5, 0},
		{"one value is every percentile", ms(7), 0.99, 7 * time.Millisecond},
		{"the median of two is the lower", ms(1, 2), 0.5, time.Millisecond},
		{"the median of three is the middle", ms(1, 2, 3), 0.5, 2 * time.Millisecond},
		{"p99 of 1..100 is 99", ms(hundred...), 0.99, 99 * time.Millisecond},
		{"p50 of 1..100 is 50", ms(hundred...), 0.50, 50 * time.Millisecond},
		{"the max is p100", ms(hundred...), 1, 100 * time.Millisecond},
		{"p99 of ten is the largest", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.99, 10 * time.Millisecond},
		{"a p of 0 is the smallest", ms(3, 4), 0, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.in, tt.p); got != tt.want {
				t.Fatalf("Percentile(p=%v) = %s, want %s", tt.p, got, tt.want)
			}
		})
	}
	d := Distribution(ms(30, 10, 20))
	if d != (Latency{N: 3, P50: 20, P99: 30, Max: 30}) {
		t.Errorf("Distribution sorts before it picks: %+v", d)
	}
}

func TestPagesAreCountedPerFinding(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	res := &Result{
		Run: "r1",
		Requests: []Request{
			{Kind: KindNew, Seq: 0, Sent: at(0)},
			{Kind: KindNew, Seq: 1, Sent: at(10)},
			{Kind: KindNew, Seq: 2, Sent: at(20)},
			{Kind: KindNew, Seq: 3, Sent: at(30)},
			{Kind: KindNew, Seq: 4, Sent: at(40)},
			{Kind: KindUpdate, Seq: 1, Sent: at(50)},
			{Kind: KindRedeliver, Of: KindNew, Seq: 0, Sent: at(55)},
			{Kind: KindResolve, Seq: 3, Sent: at(60)},
		},
		NotAcknowledged: []Request{{Kind: KindResolve, Seq: 4, Sent: at(70)}, {Kind: KindNew, Seq: 5, Sent: at(80)}},
		Emails: []Email{
			{Run: "r1", Seq: 0, At: at(100)},
			{Run: "r1", Seq: 1, At: at(300)},
			{Run: "r1", Seq: 1, At: at(200)}, // the earlier one counts, in whatever order they came
			{Run: "r1", Seq: 5, At: at(400)}, // about a finding never acknowledged
			{Run: "old", Seq: 2, At: at(50)}, // another run's
			{Seq: -1, At: at(60)},            // no marker
		},
	}
	p := pages(res, true, true)
	want := Pages{
		NewAcked: 5, Paged: 2, Duplicated: 1,
		Latency:         Latency{N: 2, P50: 100, P99: 190, Max: 190},
		Unpaged:         []int{2},    // owed, not paged
		ResolvedUnpaged: []int{3, 4}, // resolved (4 not acknowledged, perhaps committed)
		DuplicateSeqs:   []int{1},
		Emails:          4, UnackedEmails: 1, OtherEmails: 2,
		SinkConfigured: true, WaitedForPages: true,
	}
	got, _ := json.Marshal(p)
	exp, _ := json.Marshal(want)
	if !bytes.Equal(got, exp) {
		t.Fatalf("pages\n got %s\nwant %s", got, exp)
	}
}

func TestServerFiguresAddUpCPUAcrossARestart(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	samples := []Sample{
		{At: t0, PID: 100, RSS: 10 << 20, CPU: 5, Goroutines: 20},
		{At: t0.Add(time.Second), PID: 100, RSS: 30 << 20, CPU: 6, Goroutines: 50},
		{At: t0.Add(2 * time.Second), PID: 100, RSS: -1, CPU: -1, Goroutines: -1}, // killed
		{At: t0.Add(3 * time.Second), PID: 200, RSS: 8 << 20, CPU: 0.5, Goroutines: 18},
		{At: t0.Add(4 * time.Second), PID: 200, RSS: 12 << 20, CPU: 1.5, Goroutines: 22},
	}
	s := server(samples)
	if !slices.Equal(s.PIDs, []int{100, 200}) {
		t.Errorf("PIDs %v", s.PIDs)
	}
	if s.CPUSeconds != 2 || s.Cores != 0.5 {
		t.Errorf("CPU %.2f s, %.2f cores; want 2 s (1 + 1, not 1.5 - 5) over 4 s", s.CPUSeconds, s.Cores)
	}
	if s.RSSFirst != 10<<20 || s.RSSLast != 12<<20 || s.RSSMax != 30<<20 {
		t.Errorf("RSS %d → %d max %d", s.RSSFirst, s.RSSLast, s.RSSMax)
	}
	if s.GoroutinesFirst != 20 || s.GoroutinesLast != 22 || s.GoroutinesMax != 50 {
		t.Errorf("goroutines %d → %d max %d", s.GoroutinesFirst, s.GoroutinesLast, s.GoroutinesMax)
	}
	if none := server(nil); none.RSSMax != -1 || none.GoroutinesMax != -1 || len(none.PIDs) != 0 {
		t.Errorf("no samples: %+v", none)
	}
}

func TestSamplesAreWrittenAsCSVWithEmptyCellsForWhatWasNotRead(t *testing.T) {
	t0 := time.Unix(1795000000, 250e6)
	res := &Result{Samples: []Sample{
		{At: t0, Elapsed: 0, PID: 42, RSS: 1048576, CPU: 1.25, Goroutines: 30, Acked: 0, Emails: 0},
		{At: t0.Add(time.Second), Elapsed: 1, PID: 0, RSS: -1, CPU: -1, Goroutines: -1, Acked: 50, Emails: 48},
	}}
	var b bytes.Buffer
	if err := res.WriteSamplesCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"unix_time", "elapsed_s", "rss_bytes", "cpu_s", "goroutines", "acked", "emails", "pid"},
		{"1795000000.250", "0.000", "1048576", "1.25", "30", "0", "0", "42"},
		{"1795000001.250", "1.000", "", "", "", "50", "48", ""},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Fatalf("CSV\n got %q\nwant %q", rows, want)
	}
}

func TestTheJSONResultListsAcknowledgedRequestsAndEmailsForAChecker(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	res := &Result{
		Run: "r1", Targets: []string{"http://127.0.0.1:18080"},
		Requests: []Request{{Kind: KindNew, Seq: 3, FindingID: FindingID("r1", 3), MessageID: "m-1", Target: "http://127.0.0.1:18080",
			Sent: t0, At: t0.Add(5 * time.Millisecond), Status: 200, Attempts: 1, LatencyMS: 5}},
		Emails: []Email{{At: t0.Add(time.Second), To: []string{"oncall@example.com"}, Subject: "[P2] GuardDuty: load#r1.3# x",
			MessageID: "<a@b>", AlertID: "0195-…", Run: "r1", Seq: 3}},
	}
	var b bytes.Buffer
	if err := res.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Requests []map[string]any `json:"requests"`
		Emails   []map[string]any `json:"emails"`
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Requests) != 1 || len(back.Emails) != 1 {
		t.Fatalf("%d requests, %d emails", len(back.Requests), len(back.Emails))
	}
	for key, want := range map[string]any{"kind": "new", "findingId": FindingID("r1", 3), "seq": 3.0, "target": "http://127.0.0.1:18080",
		"status": 200.0, "messageId": "m-1", "at": "2026-11-26T10:00:00.005Z"} {
		if got := back.Requests[0][key]; got != want {
			t.Errorf("request %s = %v, want %v", key, got, want)
		}
	}
	for key, want := range map[string]any{"subject": "[P2] GuardDuty: load#r1.3# x", "messageId": "<a@b>", "alertId": "0195-…", "seq": 3.0,
		"at": "2026-11-26T10:00:01Z"} {
		if got := back.Emails[0][key]; got != want {
			t.Errorf("email %s = %v, want %v", key, got, want)
		}
	}
	if to, _ := back.Emails[0]["to"].([]any); len(to) != 1 || to[0] != "oncall@example.com" {
		t.Errorf("email to = %v", back.Emails[0]["to"])
	}
	if strings.Contains(b.String(), "apiKey") {
		t.Error("the result names the API key")
	}
}
