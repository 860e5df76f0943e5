package load

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// samplesHeader is the header line of WriteSamplesCSV.
func samplesHeader() []string {
	return []string{"unix_time", "elapsed_s", "rss_bytes", "cpu_s", "goroutines", "acked", "emails", "pid"}
}

// Bounds on what a samples file may hold: beyond them a value is not a reading but garbage, and
// (for the times) would no longer survive a round trip through WriteSamplesCSV's fixed decimals.
const (
	maxUnixSeconds    = 1e11 // the year 5138
	maxSampledSeconds = 1e9  // elapsed and CPU seconds: 31 years
)

// ReadSamplesCSV reads samples written by WriteSamplesCSV: the header line, then one sample a
// line. Empty cells are values not read, -1 (PID 0), as in Sample. An error names the line.
func ReadSamplesCSV(r io.Reader) ([]Sample, error) {
	header := samplesHeader()
	cr := csv.NewReader(r) // every line must have as many fields as the header
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("load: samples: no header line (the file is empty)")
	}
	if err != nil {
		return nil, fmt.Errorf("load: samples: %w", err)
	}
	if !slices.Equal(head, header) {
		line, _ := cr.FieldPos(0)
		return nil, fmt.Errorf("load: samples line %d: header %q, want %q", line, strings.Join(head, ","), strings.Join(header, ","))
	}
	out := []Sample{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("load: samples: %w", err) // a csv.ParseError names its line
		}
		x, err := parseSampleRow(header, rec)
		if err != nil {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("load: samples line %d: %w", line, err)
		}
		out = append(out, x)
	}
}

// parseSampleRow reads one line of WriteSamplesCSV, whose columns are named by header.
func parseSampleRow(header, rec []string) (Sample, error) {
	var x Sample
	unix, err := parseSeconds(header[0], rec[0], -maxUnixSeconds, maxUnixSeconds)
	if err != nil {
		return Sample{}, err
	}
	x.At = time.UnixMilli(int64(math.Round(unix * 1000)))
	if x.Elapsed, err = parseSeconds(header[1], rec[1], 0, maxSampledSeconds); err != nil {
		return Sample{}, err
	}
	if x.RSS, err = parseCount(header[2], rec[2], math.MaxInt64, -1); err != nil {
		return Sample{}, err
	}
	x.CPU = -1
	if rec[3] != "" {
		if x.CPU, err = parseSeconds(header[3], rec[3], 0, maxSampledSeconds); err != nil {
			return Sample{}, err
		}
	}
	g, err := parseCount(header[4], rec[4], math.MaxInt32, -1)
	if err != nil {
		return Sample{}, err
	}
	x.Goroutines = int(g)
	if x.Acked, err = parseCount(header[5], rec[5], math.MaxInt64, 0); err != nil {
		return Sample{}, err
	}
	if x.Emails, err = parseCount(header[6], rec[6], math.MaxInt64, 0); err != nil {
		return Sample{}, err
	}
	if rec[7] != "" { // else no PID, 0
		pid, err := parseCount(header[7], rec[7], math.MaxInt32, 0)
		if err != nil {
			return Sample{}, err
		}
		if pid == 0 {
			return Sample{}, fmt.Errorf("%s %q is not a process id", header[7], rec[7])
		}
		x.PID = int(pid)
	}
	return x, nil
}

// parseSeconds reads a decimal number of seconds from lo to hi.
func parseSeconds(name, s string, lo, hi float64) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || v < lo || v > hi {
		return 0, fmt.Errorf("%s %q is not a number of seconds from %g to %g", name, s, lo, hi)
	}
	return v, nil
}

// parseCount reads a whole number from 0 to limit; an empty cell is empty, or an error when empty
// is not negative (the column must have a value).
func parseCount(name, s string, limit, empty int64) (int64, error) {
	if s == "" {
		if empty < 0 {
			return empty, nil
		}
		return 0, fmt.Errorf("%s is empty", name)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > limit {
		return 0, fmt.Errorf("%s %q is not a whole number from 0 to %d", name, s, limit)
	}
	return n, nil
}

// The plot's geometry, in pixels.
const (
	plotWidth    = 1200
	plotHeight   = 900
	plotLeft     = 72              // the y tick labels are left of it
	plotRight    = plotWidth - 24  // the plot areas end here
	panelsTop    = 66              // below the title and the subtitle
	panelsBottom = plotHeight - 44 // above the x tick labels and the x axis's name
	titleBand    = 20              // above each plot area, for its panel's title
	panelGap     = 6               // below each plot area
	glyphWidth   = 7               // basicfont.Face7x13
	glyphAscent  = 11              // basicfont.Face7x13
	rateWindow   = 30.0            // seconds that rates are averaged over, at most
	maxTitleLen  = plotWidth/glyphWidth - 4
	maxPIDsNamed = 5
)

// Plot draws samples as a PNG of 1200×900 pixels: four panels over the same time axis (minutes
// since the start of the run), RSS in MiB, goroutines, CPU in cores and throughput (acknowledged
// requests and emails a second), with the restarts (a change of PID) marked. CPU and throughput are
// the derivatives of the cumulative counts, averaged over 30 s centred on each sample (over a
// twentieth of a run shorter than ten minutes). Values not read are gaps. The samples may be in any
// order; it takes at least two, a millisecond or more apart.
func Plot(w io.Writer, samples []Sample, title string) error {
	img, err := render(samples, title)
	if err != nil {
		return err
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("load: writing the plot: %w", err)
	}
	return nil
}

// palette is the plot's colours.
type palette struct {
	background, text, muted, grid, frame, marker color.RGBA
	rss, goroutines, cpu, acked, emails          color.RGBA
}

func plotPalette() palette {
	return palette{
		background: color.RGBA{255, 255, 255, 255},
		text:       color.RGBA{25, 25, 25, 255},
		muted:      color.RGBA{95, 95, 95, 255},
		grid:       color.RGBA{226, 226, 226, 255},
		frame:      color.RGBA{150, 150, 150, 255},
		marker:     color.RGBA{214, 39, 40, 255},
		rss:        color.RGBA{31, 119, 180, 255},
		goroutines: color.RGBA{44, 160, 44, 255},
		cpu:        color.RGBA{148, 103, 189, 255},
		acked:      color.RGBA{31, 119, 180, 255},
		emails:     color.RGBA{255, 127, 14, 255},
	}
}

// series is one line of a panel: y[i] at the i-th sample, where ok[i].
type series struct {
	name string
	y    []float64
	ok   []bool
	c    color.RGBA
}

// panel is one of the stacked plots.
type panel struct {
	title  string
	lines  []series
	legend bool
}

// restart is where the PID changed.
type restart struct {
	minute float64
	pid    int
}

func render(samples []Sample, title string) (*image.RGBA, error) {
	if len(samples) < 2 {
		return nil, fmt.Errorf("load: a plot needs at least 2 samples, got %d", len(samples))
	}
	for i, x := range samples {
		if math.IsNaN(x.Elapsed) || math.IsInf(x.Elapsed, 0) {
			return nil, fmt.Errorf("load: sample %d: elapsed time %v is not a number of seconds", i, x.Elapsed)
		}
	}
	xs := slices.Clone(samples)
	slices.SortStableFunc(xs, func(a, b Sample) int { return cmp.Compare(a.Elapsed, b.Elapsed) })
	n := len(xs)
	span := xs[n-1].Elapsed - xs[0].Elapsed
	if math.IsInf(span, 0) {
		return nil, fmt.Errorf("load: the samples span too long a time (elapsed %v s to %v s)", xs[0].Elapsed, xs[n-1].Elapsed)
	}
	if span < 0.001 {
		return nil, fmt.Errorf("load: the %d samples span less than a millisecond (elapsed %v s to %v s)", n, xs[0].Elapsed, xs[n-1].Elapsed)
	}

	t := make([]float64, n)
	minutes := make([]float64, n)
	rss, rssOK := make([]float64, n), make([]bool, n)
	gor, gorOK := make([]float64, n), make([]bool, n)
	cpu, cpuKey := make([]float64, n), make([]int, n)
	acked, emails, runKey := make([]float64, n), make([]float64, n), make([]int, n)
	var restarts []restart
	lastPID := 0
	for i, x := range xs {
		t[i], minutes[i] = x.Elapsed, x.Elapsed/60
		rss[i], rssOK[i] = float64(x.RSS)/(1<<20), x.RSS >= 0
		gor[i], gorOK[i] = float64(x.Goroutines), x.Goroutines >= 0
		cpu[i], cpuKey[i] = x.CPU, -1
		if x.CPU >= 0 && !math.IsInf(x.CPU, 0) {
			cpuKey[i] = max(x.PID, 0) // CPU seconds count from the start of each process
		}
		acked[i], emails[i] = float64(x.Acked), float64(x.Emails)
		if x.PID > 0 {
			if lastPID > 0 && x.PID != lastPID {
				restarts = append(restarts, restart{minute: minutes[i], pid: x.PID})
			}
			lastPID = x.PID
		}
	}
	window := min(rateWindow, span/20)
	interval := span / float64(n-1)
	averaged := fmt.Sprintf("%.3g s average", window)
	if window < 2*interval {
		averaged = "sample to sample"
	}
	cores, coresOK := rates(t, cpu, cpuKey, window)
	ackRate, ackOK := rates(t, acked, runKey, window)
	mailRate, mailOK := rates(t, emails, runKey, window)

	pal := plotPalette()
	srv := server(xs)
	panels := []panel{
		{
			title: fmt.Sprintf("RSS (MiB): first %s, last %s, max %s", mibValue(srv.RSSFirst), mibValue(srv.RSSLast), mibValue(srv.RSSMax)),
			lines: []series{{name: "RSS", y: rss, ok: rssOK, c: pal.rss}},
		},
		{
			title: fmt.Sprintf("goroutines: first %s, last %s, max %s", count(srv.GoroutinesFirst), count(srv.GoroutinesLast), count(srv.GoroutinesMax)),
			lines: []series{{name: "goroutines", y: gor, ok: gorOK, c: pal.goroutines}},
		},
		{
			title: "CPU (cores, " + averaged + "): " + coresText(srv),
			lines: []series{{name: "CPU", y: cores, ok: coresOK, c: pal.cpu}},
		},
		{
			title: fmt.Sprintf("throughput (per second, %s): %.1f acked, %.1f emails on average", averaged,
				(acked[n-1]-acked[0])/span, (emails[n-1]-emails[0])/span),
			lines: []series{
				{name: "requests acked/s", y: ackRate, ok: ackOK, c: pal.acked},
				{name: "emails/s", y: mailRate, ok: mailOK, c: pal.emails},
			},
			legend: true,
		},
	}

	img := image.NewRGBA(image.Rect(0, 0, plotWidth, plotHeight))
	draw.Draw(img, img.Bounds(), image.NewUniform(pal.background), image.Point{}, draw.Src)
	drawTitle(img, fitText(title, maxTitleLen), pal.text)
	subtitle := fmt.Sprintf("%d samples, %s apart, over %.1f min; %s", n, secondsText(interval), span/60, pidsText(srv.PIDs))
	subtitle = fitText(subtitle, maxTitleLen)
	drawText(img, (plotWidth-textWidth(subtitle))/2, 54, subtitle, pal.muted)

	x0 := minutes[0]
	if x0 >= 0 && x0 <= 0.05*minutes[n-1] {
		x0 = 0 // the start of the run, a sample's time after it
	}
	xTicks, xStep := timeTicks(x0, minutes[n-1])
	xLabels := tickLabels(xTicks, xStep)
	height := float64(panelsBottom-panelsTop) / float64(len(panels))
	for i, p := range panels {
		top := panelsTop + int(math.Round(float64(i)*height))
		bottom := panelsTop + int(math.Round(float64(i+1)*height)) - panelGap
		area := image.Rect(plotLeft, top+titleBand, plotRight, bottom)
		f, titleEnd := drawPanel(img, area, p, minutes, x0, xTicks, restarts, pal)
		if i == 0 {
			labelRestarts(img, f, titleEnd, restarts, pal)
		}
		if i == len(panels)-1 {
			for k, v := range xTicks {
				x := f.point(v, f.y0).X
				vline(img, x, area.Max.Y, area.Max.Y+3, pal.frame)
				drawText(img, x-textWidth(xLabels[k])/2, area.Max.Y+16, xLabels[k], pal.text)
			}
			name := "elapsed (minutes)"
			drawText(img, area.Min.X+(area.Dx()-textWidth(name))/2, area.Max.Y+34, name, pal.text)
		}
	}
	return img, nil
}

// rates is the derivative of the cumulative values v over the times t (seconds), averaged over a
// window centred on each sample: (v[k]-v[j])/(t[k]-t[j]), j and k the outermost samples within half
// the window either side, and at least one interval apart. Rates are taken within runs of samples
// with the same key, none where key < 0 (v unknown) or the run has one sample.
func rates(t, v []float64, key []int, window float64) ([]float64, []bool) {
	n := len(t)
	y, ok := make([]float64, n), make([]bool, n)
	for s := 0; s < n; {
		if key[s] < 0 {
			s++
			continue
		}
		e := s + 1
		for e < n && key[e] == key[s] {
			e++
		}
		if e-s >= 2 {
			j, k := s, s
			for i := s; i < e; i++ {
				for j < i && t[i]-t[j] > window/2 {
					j++
				}
				k = max(k, i)
				for k+1 < e && t[k+1]-t[i] <= window/2 {
					k++
				}
				lo, hi := j, k
				if lo == hi {
					if hi+1 < e {
						hi++
					} else {
						lo--
					}
				}
				if dt := t[hi] - t[lo]; dt > 0 {
					if r := (v[hi] - v[lo]) / dt; !math.IsNaN(r) && !math.IsInf(r, 0) {
						y[i], ok[i] = r, true
					}
				}
			}
		}
		s = e
	}
	return y, ok
}

// frame maps data to the pixels of a plot area.
type frame struct {
	r              image.Rectangle
	x0, x1, y0, y1 float64
}

// point is the pixel of (x, y), kept inside the area.
func (f frame) point(x, y float64) image.Point {
	px := float64(f.r.Min.X) + (x-f.x0)/(f.x1-f.x0)*float64(f.r.Dx()-1)
	py := float64(f.r.Max.Y-1) - (y-f.y0)/(f.y1-f.y0)*float64(f.r.Dy()-1)
	clamp := func(v float64, lo, hi int) int {
		if math.IsNaN(v) || v < float64(lo) {
			return lo
		}
		if v > float64(hi) {
			return hi
		}
		return int(math.Round(v))
	}
	return image.Pt(clamp(px, f.r.Min.X, f.r.Max.X-1), clamp(py, f.r.Min.Y, f.r.Max.Y-1))
}

// drawPanel draws p in area, its time axis from x0, with its title and legend above it, and returns
// its frame and where its title ends.
func drawPanel(img *image.RGBA, area image.Rectangle, p panel, x []float64, x0 float64, xTicks []float64, restarts []restart, pal palette) (frame, int) {
	lo, hi, some := 0.0, 0.0, false // from 0, so that flat looks flat
	for _, s := range p.lines {
		for i, v := range s.y {
			if s.ok[i] {
				lo, hi, some = min(lo, v), max(hi, v), true
			}
		}
	}
	yTicks, yStep := niceTicks(lo, hi+0.04*(hi-lo)) // room above the data: 200/s is not drawn on the frame
	f := frame{r: area, x0: x0, x1: x[len(x)-1], y0: yTicks[0], y1: yTicks[len(yTicks)-1]}

	for k, label := range tickLabels(yTicks, yStep) {
		y := f.point(f.x0, yTicks[k]).Y
		hline(img, area.Min.X, area.Max.X-1, y, pal.grid)
		hline(img, area.Min.X-3, area.Min.X-1, y, pal.frame)
		drawText(img, area.Min.X-6-textWidth(label), y+4, label, pal.text)
	}
	for _, v := range xTicks {
		vline(img, f.point(v, f.y0).X, area.Min.Y, area.Max.Y-1, pal.grid)
	}
	for _, r := range restarts {
		px := f.point(r.minute, f.y0).X
		for y := area.Min.Y; y < area.Max.Y; y += 8 {
			vline(img, px, y, min(y+4, area.Max.Y-1), pal.marker)
		}
	}
	outline(img, area, pal.frame)
	for _, s := range p.lines {
		for i := range s.y {
			if !s.ok[i] {
				continue
			}
			b := f.point(x[i], s.y[i])
			a := b
			if i > 0 && s.ok[i-1] {
				a = f.point(x[i-1], s.y[i-1])
			}
			line(img, a, b, s.c, area)
		}
	}
	if !some {
		msg := "no data"
		drawText(img, area.Min.X+(area.Dx()-textWidth(msg))/2, area.Min.Y+area.Dy()/2+4, msg, pal.muted)
	}

	baseline := area.Min.Y - 6
	right := area.Max.X
	if p.legend {
		for i := len(p.lines) - 1; i >= 0; i-- {
			s := p.lines[i]
			right -= textWidth(s.name)
			drawText(img, right, baseline, s.name, pal.text)
			right -= 24
			for dy := range 2 {
				hline(img, right, right+17, baseline-4+dy, s.c)
			}
			right -= 16
		}
	}
	title := fitText(p.title, (right-area.Min.X)/glyphWidth-2)
	drawText(img, area.Min.X, baseline, title, pal.text)
	return f, area.Min.X + textWidth(title)
}

// labelRestarts marks each restart in the band above the plot area of f and names the new PID
// there, right of the marker or else left of it, where neither the panel's title (which ends at
// titleEnd) nor another label is; a label that finds no room there goes at the bottom of the plot
// area.
func labelRestarts(img *image.RGBA, f frame, titleEnd int, restarts []restart, pal palette) {
	baseline := f.r.Min.Y - 6
	taken := []image.Rectangle{image.Rect(f.r.Min.X, baseline-glyphAscent-1, titleEnd+8, baseline+3)}
	inside := 0
	for _, r := range restarts {
		px := f.point(r.minute, f.y0).X
		for y := f.r.Min.Y - 16; y < f.r.Min.Y; y += 8 {
			vline(img, px, y, min(y+4, f.r.Min.Y-1), pal.marker)
		}
		label := "restart: PID " + strconv.Itoa(r.pid)
		w := textWidth(label)
		placed := false
		for _, x := range []int{px + 5, px - 5 - w} {
			box := image.Rect(x-2, baseline-glyphAscent-1, x+w+2, baseline+3)
			if box.Min.X < f.r.Min.X || box.Max.X > f.r.Max.X || slices.ContainsFunc(taken, box.Overlaps) {
				continue
			}
			taken = append(taken, box)
			drawText(img, x, baseline, label, pal.marker)
			placed = true
			break
		}
		if placed {
			continue
		}
		x := px + 5
		if x+w > f.r.Max.X-4 {
			x = px - 5 - w
		}
		y := f.r.Max.Y - 6 - 16*(inside%3) // neighbours stagger
		inside++
		draw.Draw(img, image.Rect(x-2, y-glyphAscent-1, x+w+2, y+3), image.NewUniform(pal.background), image.Point{}, draw.Src)
		drawText(img, x, y, label, pal.marker)
	}
}

// niceTicks is 4 to 6 ticks a round step apart, from at or below lo to at or above hi.
func niceTicks(lo, hi float64) ([]float64, float64) {
	lo, hi = max(lo, -1e300), min(hi, 1e300)
	if !(hi-lo >= 1e-9) {
		hi = lo + 1
	}
	mag := math.Pow(10, math.Floor(math.Log10((hi-lo)/5)))
	for _, m := range []float64{1, 2, 2.5, 5, 10, 20, 25, 50, 100} {
		step := roundMultiple(1, m, mag)
		a, b := math.Floor(lo/step+1e-9), math.Ceil(hi/step-1e-9)
		if b-a <= 5 {
			ticks := make([]float64, 0, 6)
			for k := a; k <= b && len(ticks) < 6; k++ {
				ticks = append(ticks, roundMultiple(k, m, mag))
			}
			if len(ticks) >= 2 {
				return ticks, step
			}
		}
	}
	return []float64{lo, hi}, hi - lo // not reached with finite values
}

// timeTicks is the ticks of the time axis: a round step apart, at most 13 of them, from x0 to x1.
func timeTicks(x0, x1 float64) ([]float64, float64) {
	span := x1 - x0
	mag := math.Pow(10, math.Floor(math.Log10(span/13)))
	m := 10.0
	for _, c := range []float64{1, 2, 5} {
		if span/(c*mag) < 13 {
			m = c
			break
		}
	}
	step := roundMultiple(1, m, mag)
	var ticks []float64
	for k := math.Ceil(x0/step - 1e-9); k*step <= x1+step*1e-9 && len(ticks) < 14; k++ {
		ticks = append(ticks, roundMultiple(k, m, mag))
	}
	return ticks, step
}

// roundMultiple is k·m·mag, mag a power of ten, computed so that 3·2·0.1 is 0.6, not
// 0.6000000000000001; never -0.
func roundMultiple(k, m, mag float64) float64 {
	if mag < 1 {
		return k*m/math.Round(1/mag) + 0
	}
	return k*m*mag + 0
}

// tickLabels formats ticks a step apart with as many decimals as the step needs, and in thousands
// (k), millions (M)... when they are large.
func tickLabels(ticks []float64, step float64) []string {
	top := 0.0
	for _, v := range ticks {
		top = max(top, math.Abs(v))
	}
	out := make([]string, len(ticks))
	if top >= 1e21 || (step < 1e-6 && top > 0) {
		for i, v := range ticks {
			out[i] = strconv.FormatFloat(v, 'g', 3, 64)
		}
		return out
	}
	unit, suffix := 1.0, ""
	for _, u := range []struct {
		v float64
		s string
	}{{1e18, "E"}, {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e4, "k"}} {
		if top >= u.v {
			unit, suffix = u.v, u.s
			if u.s == "k" {
				unit = 1e3
			}
			break
		}
	}
	d := decimals(step / unit)
	for i, v := range ticks {
		out[i] = strconv.FormatFloat(v/unit, 'f', d, 64)
		if v != 0 {
			out[i] += suffix
		}
	}
	return out
}

// decimals is how many decimals a multiple of step needs.
func decimals(step float64) int {
	for d := range 9 {
		v := step * math.Pow10(d)
		if math.Abs(v-math.Round(v)) <= 1e-6*max(1, v) {
			return d
		}
	}
	return 9
}

func mibValue(b int64) string {
	if b < 0 {
		return "?"
	}
	return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64)
}

func coresText(s Server) string {
	if len(s.PIDs) == 0 {
		return "not sampled"
	}
	return fmt.Sprintf("%.2f on average", s.Cores)
}

func secondsText(s float64) string {
	if s >= 120 {
		return fmt.Sprintf("%.3g min", s/60)
	}
	return fmt.Sprintf("%.3g s", s)
}

func pidsText(pids []int) string {
	switch len(pids) {
	case 0:
		return "no PID sampled"
	case 1:
		return "PID " + strconv.Itoa(pids[0])
	}
	named := make([]string, 0, maxPIDsNamed+1)
	for _, p := range pids[:min(len(pids), maxPIDsNamed)] {
		named = append(named, strconv.Itoa(p))
	}
	if len(pids) > maxPIDsNamed {
		named = append(named, "...")
	}
	restarts := "1 restart"
	if len(pids) > 2 {
		restarts = strconv.Itoa(len(pids)-1) + " restarts"
	}
	return fmt.Sprintf("PIDs %s (%s)", strings.Join(named, " -> "), restarts)
}

// fitText cuts s to at most n characters, marking the cut.
func fitText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 3 {
		return ""
	}
	return string(r[:n-3]) + "..."
}

func textWidth(s string) int { return font.MeasureString(basicfont.Face7x13, s).Ceil() }

// drawText draws s with its baseline at y.
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// drawTitle draws s at twice the font's size, centred at the top.
func drawTitle(img *image.RGBA, s string, c color.RGBA) {
	w := textWidth(s)
	if w <= 0 {
		return
	}
	if 2*w > plotWidth-20 {
		drawText(img, max(10, (plotWidth-w)/2), 28, s, c)
		return
	}
	mask := image.NewAlpha(image.Rect(0, 0, w, basicfont.Face7x13.Height))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: basicfont.Face7x13, Dot: fixed.P(0, glyphAscent)}
	d.DrawString(s)
	x0, y0 := (plotWidth-2*w)/2, 10
	for y := range mask.Rect.Dy() {
		for x := range w {
			if mask.AlphaAt(x, y).A >= 128 {
				draw.Draw(img, image.Rect(x0+2*x, y0+2*y, x0+2*x+2, y0+2*y+2), image.NewUniform(c), image.Point{}, draw.Src)
			}
		}
	}
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	for x := x0; x <= x1; x++ {
		img.SetRGBA(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	for y := y0; y <= y1; y++ {
		img.SetRGBA(x, y, c)
	}
}

func outline(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	hline(img, r.Min.X, r.Max.X-1, r.Min.Y, c)
	hline(img, r.Min.X, r.Max.X-1, r.Max.Y-1, c)
	vline(img, r.Min.X, r.Min.Y, r.Max.Y-1, c)
	vline(img, r.Max.X-1, r.Min.Y, r.Max.Y-1, c)
}

// line draws from a to b, two pixels wide, inside clip (Bresenham).
func line(img *image.RGBA, a, b image.Point, c color.RGBA, clip image.Rectangle) {
	dx, dy := b.X-a.X, b.Y-a.Y
	sx, sy := 1, 1
	if dx < 0 {
		dx, sx = -dx, -1
	}
	if dy < 0 {
		dy, sy = -dy, -1
	}
	e := dx - dy
	for {
		for _, p := range [...]image.Point{a, a.Add(image.Pt(1, 0)), a.Add(image.Pt(0, 1)), a.Add(image.Pt(1, 1))} {
			if p.In(clip) {
				img.SetRGBA(p.X, p.Y, c)
			}
		}
		if a == b {
			return
		}
		e2 := 2 * e
		if e2 > -dy {
			e -= dy
			a.X += sx
		}
		if e2 < dx {
			e += dx
			a.Y += sy
		}
	}
}
