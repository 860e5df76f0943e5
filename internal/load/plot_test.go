package load

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// syntheticHour is an hour of samples a second apart of a server that is flat but for noise, paging
// 200 requests a second, and restarted at restartAt seconds (never when negative): gone for three
// samples, then back under another PID with less memory and its CPU time counted from 0.
func syntheticHour(restartAt int) []Sample {
	rng := rand.New(rand.NewPCG(9, 200))
	start := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	var out []Sample
	var cpu float64
	pid := 31079
	var acked, emails int64
	for i := 0; i <= 3600; i++ {
		x := Sample{At: start.Add(time.Duration(i) * time.Second), Elapsed: float64(i), PID: pid}
		acked += int64(190 + rng.IntN(21))
		if i > 2 {
			emails += int64(180 + rng.IntN(21))
		}
		x.Acked, x.Emails = acked, emails
		switch {
		case restartAt >= 0 && i >= restartAt && i < restartAt+3:
			x.PID, x.RSS, x.CPU, x.Goroutines = 0, -1, -1, -1
		default:
			if restartAt >= 0 && i == restartAt+3 {
				pid, cpu = 31297, 0
				x.PID = pid
			}
			base := 48.0
			if restartAt >= 0 && i >= restartAt {
				base = 40 + 8*(1-math.Exp(-float64(i-restartAt)/300))
			}
			x.RSS = int64((base + rng.Float64()*1.5) * (1 << 20))
			cpu += 0.42 + 0.1*rng.Float64()
			x.CPU = math.Round(cpu*100) / 100
			x.Goroutines = 94 + rng.IntN(4)
			if rng.IntN(200) == 0 {
				x.Goroutines += 30
			}
		}
		out = append(out, x)
	}
	return out
}

func writeSamples(t testing.TB, samples []Sample) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := (&Result{Samples: samples}).WriteSamplesCSV(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sameSamples(a, b []Sample) bool {
	return slices.EqualFunc(a, b, func(x, y Sample) bool {
		return x.At.Equal(y.At) && x.Elapsed == y.Elapsed && x.PID == y.PID && x.RSS == y.RSS && x.CPU == y.CPU &&
			x.Goroutines == y.Goroutines && x.Acked == y.Acked && x.Emails == y.Emails
	})
}

func TestReadSamplesCSVReadsWhatWriteSamplesCSVWrote(t *testing.T) {
	at := time.UnixMilli(1795685416439)
	for _, tc := range []struct {
		name    string
		samples []Sample
	}{
		{"none", []Sample{}},
		{"read", []Sample{
			{At: at, Elapsed: 0.005, PID: 31079, RSS: 39923712, CPU: 0.28, Goroutines: 95},
			{At: at.Add(1001 * time.Millisecond), Elapsed: 1.006, PID: 31079, RSS: 45883392, CPU: 0.6, Goroutines: 94, Acked: 51, Emails: 49},
		}},
		{"not read", []Sample{
			{At: at, Elapsed: 2, RSS: -1, CPU: -1, Goroutines: -1, Acked: 7, Emails: 3},
			{At: time.UnixMilli(-1500), Elapsed: 0, RSS: 0, CPU: 0, Goroutines: 0},
		}},
		{"an hour with a restart", syntheticHour(1800)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			written := writeSamples(t, tc.samples)
			got, err := ReadSamplesCSV(bytes.NewReader(written))
			if err != nil {
				t.Fatal(err)
			}
			if !sameSamples(got, tc.samples) {
				t.Fatalf("read back\n%+v\nwant\n%+v", got, tc.samples)
			}
			if again := writeSamples(t, got); !bytes.Equal(again, written) {
				t.Fatalf("written again\n%s\nwant\n%s", again, written)
			}
		})
	}
}

func TestReadSamplesCSVNamesTheLineOfABadRow(t *testing.T) {
	const header = "unix_time,elapsed_s,rss_bytes,cpu_s,goroutines,acked,emails,pid\n"
	const good = "1795685416.439,0.005,39923712,0.28,95,0,0,31079\n"
	for _, tc := range []struct {
		name, csv, want string
	}{
		{"empty", "", "no header line"},
		{"another header", "time,rss\n1,2\n", "line 1: header"},
		{"too few fields", header + good + "1795685417.440,1.006,45883392\n", "line 3"},
		{"a bad RSS", header + good + good + "1795685418.439,2.005,lots,0.84,95,101,92,31079\n", `line 4: rss_bytes "lots"`},
		{"a negative count", header + "1795685416.439,0.005,,,,-3,0,\n", `line 2: acked "-3"`},
		{"no count", header + "1795685416.439,0.005,,,,0,,\n", "line 2: emails is empty"},
		{"elapsed not a number", header + "1795685416.439,NaN,,,,0,0,\n", `line 2: elapsed_s "NaN"`},
		{"an infinite CPU", header + "1795685416.439,1,,+Inf,,0,0,\n", `line 2: cpu_s "+Inf"`},
		{"PID 0", header + "1795685416.439,1,,,,0,0,0\n", `line 2: pid "0"`},
		{"goroutines beyond int32", header + "1795685416.439,1,,,4294967296,0,0,\n", `line 2: goroutines`},
		{"a bare quote", header + "1795685416.439,1,\"5,,,0,0,\n", "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadSamplesCSV(strings.NewReader(tc.csv))
			if err == nil || !strings.Contains(err.Error(), tc.want) || got != nil {
				t.Fatalf("got %v, %v; want an error with %q", got, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "load: samples") {
				t.Errorf("error %q does not say what was read", err)
			}
		})
	}
}

func TestPlotDrawsAnHourAsAPNGTheSameEveryTime(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []Sample
	}{
		{"steady", syntheticHour(-1)},
		{"restarted", syntheticHour(1800)},
		{"nothing read from the server", func() []Sample {
			s := syntheticHour(-1)[:600]
			for i := range s {
				s[i].PID, s[i].RSS, s[i].CPU, s[i].Goroutines = 0, -1, -1, -1
			}
			return s
		}()},
		{"two samples", syntheticHour(-1)[:2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var first, second bytes.Buffer
			if err := Plot(&first, tc.samples, "tocsin soak: 200 findings/s, SQLite, 60 min"); err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(first.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != image.Rect(0, 0, 1200, 900) {
				t.Errorf("bounds %v, want 1200×900", img.Bounds())
			}
			reversed := slices.Clone(tc.samples)
			slices.Reverse(reversed) // the order of the samples does not matter
			if err := Plot(&second, reversed, "tocsin soak: 200 findings/s, SQLite, 60 min"); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first.Bytes(), second.Bytes()) {
				t.Error("the same samples plotted twice differ")
			}
			second.Reset()
			if err := Plot(&second, tc.samples, "another title"); err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(first.Bytes(), second.Bytes()) {
				t.Error("the title is not drawn")
			}
		})
	}
	if path := os.Getenv("TOCSIN_PLOT_CHECK"); path != "" { // to look at: TOCSIN_PLOT_CHECK=/tmp/plot-check.png
		var b bytes.Buffer
		if err := Plot(&b, syntheticHour(2400), "tocsin soak: 200 findings/s, SQLite, 60 min"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPlotRefusesWhatCannotBeDrawnWithAClearError(t *testing.T) {
	at := time.UnixMilli(1795685416439)
	for _, tc := range []struct {
		name    string
		samples []Sample
		want    string
	}{
		{"none", nil, "at least 2 samples, got 0"},
		{"one", []Sample{{At: at, Elapsed: 1}}, "at least 2 samples, got 1"},
		{"no time", []Sample{{At: at, Elapsed: 1}, {At: at, Elapsed: 1}}, "span less than a millisecond"},
		{"NaN", []Sample{{At: at}, {At: at, Elapsed: math.NaN()}}, "sample 1: elapsed time NaN"},
		{"infinite", []Sample{{At: at, Elapsed: -math.MaxFloat64}, {At: at, Elapsed: math.MaxFloat64}}, "too long a time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Plot(&b, tc.samples, "t")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "load: ") {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
			if b.Len() != 0 {
				t.Errorf("%d bytes written", b.Len())
			}
		})
	}
}

func TestTicksAreFourToSixRoundNumbersCoveringTheData(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   []float64
		labels string
	}{
		{0, 95, []float64{0, 20, 40, 60, 80, 100}, "0 20 40 60 80 100"},
		{0, 48.7, []float64{0, 10, 20, 30, 40, 50}, "0 10 20 30 40 50"},
		{0, 0, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}, "0.0 0.2 0.4 0.6 0.8 1.0"},
		{0, 0.43, []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5}, "0.0 0.1 0.2 0.3 0.4 0.5"},
		{0, 210, []float64{0, 50, 100, 150, 200, 250}, "0 50 100 150 200 250"},
		{0, 10.1, []float64{0, 2.5, 5, 7.5, 10, 12.5}, "0.0 2.5 5.0 7.5 10.0 12.5"},
		{-3, 7, []float64{-5, -2.5, 0, 2.5, 5, 7.5}, "-5.0 -2.5 0.0 2.5 5.0 7.5"},
		{0, 123456, []float64{0, 25000, 50000, 75000, 100000, 125000}, "0 25k 50k 75k 100k 125k"},
		{0, 3.2e9, []float64{0, 1e9, 2e9, 3e9, 4e9}, "0 1G 2G 3G 4G"},
	} {
		ticks, step := niceTicks(tc.lo, tc.hi)
		if !slices.Equal(ticks, tc.want) {
			t.Errorf("niceTicks(%v, %v) = %v, want %v", tc.lo, tc.hi, ticks, tc.want)
			continue
		}
		if got := strings.Join(tickLabels(ticks, step), " "); got != tc.labels {
			t.Errorf("labels of %v: %q, want %q", ticks, got, tc.labels)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		hi := math.Pow(10, rng.Float64()*30-12) * rng.Float64()
		lo := 0.0
		if rng.IntN(4) == 0 {
			lo = -hi * rng.Float64()
		}
		ticks, step := niceTicks(lo, hi)
		slack := 1e-8 * (ticks[len(ticks)-1] - ticks[0]) // dust within 1e-9 of a step is on the tick
		if len(ticks) < 4 || len(ticks) > 6 || ticks[0] > lo+slack || ticks[len(ticks)-1] < hi-slack && hi-lo >= 1e-9 {
			t.Fatalf("niceTicks(%v, %v) = %v (step %v)", lo, hi, ticks, step)
		}
	}
}

func TestTimeTicksAreAtMost13RoundMinutes(t *testing.T) {
	for _, tc := range []struct {
		x0, x1 float64
		labels string
	}{
		{0, 60.01, "0 5 10 15 20 25 30 35 40 45 50 55 60"},
		{0, 10.5 / 60, "0.00 0.02 0.04 0.06 0.08 0.10 0.12 0.14 0.16"},
		{0, 240, "0 20 40 60 80 100 120 140 160 180 200 220 240"},
		{2.5, 7, "2.5 3.0 3.5 4.0 4.5 5.0 5.5 6.0 6.5 7.0"},
	} {
		ticks, step := timeTicks(tc.x0, tc.x1)
		if got := strings.Join(tickLabels(ticks, step), " "); got != tc.labels {
			t.Errorf("timeTicks(%v, %v): %q, want %q", tc.x0, tc.x1, got, tc.labels)
		}
	}
}

func TestRatesAreCountsASecondAveragedOverTheWindowWithinEachRun(t *testing.T) {
	tm := []float64{0, 1, 2, 3, 4, 5, 6, 7}
	v := []float64{0, 2, 4, 6, 100, 103, 106, 109} // a restart at 4: counted from 100
	key := []int{1, 1, 1, 1, 2, 2, 2, -1}
	y, ok := rates(tm, v, key, 2)
	wantY := []float64{2, 2, 2, 2, 3, 3, 3, 0}
	wantOK := []bool{true, true, true, true, true, true, true, false}
	if !slices.Equal(y, wantY) || !slices.Equal(ok, wantOK) {
		t.Errorf("rates %v %v, want %v %v", y, ok, wantY, wantOK)
	}
	// A lone sample between unknowns has no rate.
	if _, ok := rates([]float64{0, 1, 2}, []float64{1, 2, 3}, []int{-1, 5, -1}, 30); slices.Contains(ok, true) {
		t.Errorf("a rate from one sample: %v", ok)
	}
}

// FuzzReadSamplesCSV checks that the reader of samples files never panics, that what it accepts
// is written back as a file it reads again the same, and that a plot of it is drawn or refused
// without panicking.
//
//	go test -run='^$' -fuzz=FuzzReadSamplesCSV ./internal/load/
func FuzzReadSamplesCSV(f *testing.F) {
	f.Add([]byte("unix_time,elapsed_s,rss_bytes,cpu_s,goroutines,acked,emails,pid\n" +
		"1795685416.439,0.005,39923712,0.28,95,0,0,31079\n1795685417.440,1.006,,,,51,51,\n"))
	f.Add(writeSamples(f, syntheticHour(1800)[1790:1820]))
	f.Fuzz(func(t *testing.T, data []byte) {
		samples, err := ReadSamplesCSV(bytes.NewReader(data))
		if err != nil {
			if samples != nil {
				t.Fatalf("an error and %d samples", len(samples))
			}
			return
		}
		written := writeSamples(t, samples)
		again, err := ReadSamplesCSV(bytes.NewReader(written))
		if err != nil {
			t.Fatalf("what was read and written again is refused: %v\n%s", err, written)
		}
		if !bytes.Equal(writeSamples(t, again), written) {
			t.Fatalf("written twice, the samples differ:\n%s", written)
		}
		if len(samples) > 200 {
			return
		}
		img, err := render(samples, "fuzz")
		if err == nil && img.Bounds() != image.Rect(0, 0, plotWidth, plotHeight) {
			t.Fatalf("bounds %v", img.Bounds())
		}
	})
}
