//go:build fault

package fault

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/load"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// stepDelay is when the second step of twoSteps pages, after the alert was made.
const stepDelay = 10 * time.Second

// twoSteps pages the on-call person at once and, when nobody acknowledges, the lead after stepDelay.
var twoSteps = fmt.Sprintf(`
users:
  - username: oncall@example.com
    contacts: [{method: email, to: oncall@example.com}]
  - username: lead@example.com
    contacts: [{method: email, to: lead@example.com}]
teams:
  - name: secops
    members: [oncall@example.com, lead@example.com]
    escalation: secops-two-steps
schedules:
  - name: secops-primary
    team: secops
    timezone: UTC
    rotations:
      - {name: always, type: daily, start: "2026-01-01T00:00:00Z", participants: [oncall@example.com]}
escalations:
  - name: secops-two-steps
    rules:
      - {delay: 0s, notify: {schedule: secops-primary}}
      - {delay: %s, notify: {user: lead@example.com}}
`, stepDelay)

// TestTwoReplicasOnOnePostgresPageOnceEvenWhenOneIsKilled runs two tocsins on one PostgreSQL behind
// the generator, which alternates between them, and kills one with SIGKILL in the middle of the run
// and restarts it. Every finding answered 2xx is one alert; every page of both steps is sent, nobody
// is paged twice for one step, and the second step is on time.
func TestTwoReplicasOnOnePostgresPageOnceEvenWhenOneIsKilled(t *testing.T) {
	dsn := storetest.Postgres(t)
	s := runSize(t)
	r := newRig(t, dsn, twoSteps)
	one, two := r.startProc("replica-1"), r.startProc("replica-2")
	killed := false
	res := r.run(context.Background(), s, []*proc{one, two}, stepDelay+10*time.Second, func(ctx context.Context) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.Seconds * 4 / 10):
		}
		two.kill9()
		killed = true
		time.Sleep(time.Second)
		two.start()
	})
	// A step or page the killed replica had claimed waits for its lease at worst.
	v := waitFor(t, dsn, res, r.sink, 2, pageLease+time.Minute)
	late := lateness(res, r.sink)
	t.Logf("replica-2 killed: %v (PIDs %v); %s; second step late p50 %s, p99 %s, max %s",
		killed, two.pids, v, load.Percentile(late, 0.5), load.Percentile(late, 0.99), load.Percentile(late, 1))
	if !killed {
		t.Error("the run ended before the kill")
	}
	v.require(t)
	if v.Repeats > 0 {
		t.Logf("%d pages in flight on the killed replica were sent again after their lease", v.Repeats)
	}
	// On time: within a second of being due, but for pages and steps the killed replica held
	// (taken over when their lease ran out).
	if p99 := load.Percentile(late, 0.99); p99 > pageLease+2*time.Second {
		t.Errorf("the second step was %s late at p99, want within the page lease and 2 s", p99)
	}
}

// lateness is how long after it was due each finding's second page arrived: the second distinct
// page of a finding, against the acknowledgement of its POST plus stepDelay (the alert was made
// before that answer, so this is a lower bound of the lateness).
func lateness(res *load.Result, sink *load.Sink) []time.Duration {
	acked := map[int]time.Time{}
	for _, rq := range res.Requests {
		if rq.Kind == load.KindNew {
			acked[rq.Seq] = rq.At
		}
	}
	type first struct {
		key string
		at  time.Time
	}
	pages := map[int][]first{}
	emails, _ := sink.Emails(0)
	for _, e := range emails {
		if e.Run != res.Run || e.Seq < 0 {
			continue
		}
		k := pageKey(e.MessageID)
		if !slices.ContainsFunc(pages[e.Seq], func(f first) bool { return f.key == k }) {
			pages[e.Seq] = append(pages[e.Seq], first{key: k, at: e.At})
		}
	}
	var out []time.Duration
	for seq, ps := range pages {
		at, ok := acked[seq]
		if !ok || len(ps) < 2 {
			continue
		}
		slices.SortFunc(ps, func(a, b first) int { return a.at.Compare(b.at) })
		out = append(out, max(ps[1].at.Sub(at.Add(stepDelay)), 0))
	}
	slices.Sort(out)
	return out
}
