//go:build fault

package fault

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// oneStep pages the on-call person by email as soon as an alert is made.
const oneStep = `
users:
  - username: oncall@example.com
    fullName: Olivia Oncall
    contacts: [{method: email, to: oncall@example.com}]
teams:
  - name: secops
    members: [oncall@example.com]
    escalation: secops-now
schedules:
  - name: secops-primary
    team: secops
    timezone: UTC
    rotations:
      - {name: always, type: daily, start: "2026-01-01T00:00:00Z", participants: [oncall@example.com]}
escalations:
  - name: secops-now
    rules:
      - {delay: 0s, notify: {schedule: secops-primary}}
`

// TestKillingTocsinUnderLoadLosesNothingItAcknowledged kills tocsin with SIGKILL at random moments
// while findings arrive, restarts it at once, and then holds it to its promises: every finding it
// answered 2xx for is one alert, and every page due was sent, once — a page in flight at a kill may
// come twice, never more, and the test reports how many did.
func TestKillingTocsinUnderLoadLosesNothingItAcknowledged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		s := runSize(t)
		r := newRig(t, dsn, oneStep)
		p := r.startProc("tocsin")
		kills := 0
		res := r.run(context.Background(), s, []*proc{p}, 20*time.Second, func(ctx context.Context) {
			start := time.Now()
			for _, at := range killTimes(s) {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(start.Add(at))):
				}
				p.kill9()
				kills++
				p.start()
			}
		})
		v := waitFor(t, dsn, res, r.sink, 1, pageLease+30*time.Second)
		t.Logf("%d kills (PIDs %v): %s", kills, p.pids, v)
		if kills < s.Kills {
			t.Errorf("the run ended after %d of %d kills", kills, s.Kills)
		}
		v.require(t)
	})
}

// killTimes are Kills random moments in the middle 80 % of the run, in order.
func killTimes(s size) []time.Duration {
	out := make([]time.Duration, s.Kills)
	for i := range out {
		out[i] = s.Seconds/10 + rand.N(s.Seconds*8/10)
	}
	slices.Sort(out)
	return out
}
