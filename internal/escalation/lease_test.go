package escalation_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/escalation"
	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// A process that commits a page due at once owns it for a lease and sends it right after the commit.
// These tests leave pages in the database as a process that died before sending them would have
// (pending, leased), and check that a live process sends each once when its lease runs out, and
// cancels those whose alert no longer pages.

func TestAPageWhoseProcessDiedGoesOutOnceWhenItsLeaseRunsOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		p := newPager(t)
		env := servertest.StartWith(t, server.Config{Database: dsn, WebhookSecret: secret, PageLease: 2 * time.Second})
		env.Apply(t, config(p, time.Hour))
		ctx := context.Background()
		live := createUnrouted(t, env, "lease-live")
		acked := createUnrouted(t, env, "lease-acked")
		if _, err := env.App.Alerts.Acknowledge(ctx, alert.Origin{Actor: alert.System}, alert.Ref{Type: alert.ByID, Value: acked.ID}); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		left := []*escalation.Notification{
			// Its process died a while ago: its lease has run out.
			orphan(live, 0, "alice@example.com", p.srv.URL+"/alice", now.Add(-time.Second)),
			// Its process died just now: it goes out when the lease runs out, not before.
			orphan(live, 1, "bob@example.com", p.srv.URL+"/bob", now.Add(1500*time.Millisecond)),
			// Its alert was acknowledged meanwhile: nobody is paged.
			orphan(acked, 0, "alice@example.com", p.srv.URL+"/alice", now.Add(-time.Second)),
		}
		esc := env.App.DB.Escalations(env.App.Queue)
		err := esc.InTx(ctx, func(tx escalation.Tx) error {
			for _, n := range left {
				if _, err := tx.AddNotification(ctx, n); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		first := p.waitFor(t, 1, 3*time.Second)
		if first[0].User != "alice@example.com" || first[0].Alert != live.ID {
			t.Fatalf("first page %+v, want alice about %s", first[0], live.ID)
		}
		if at := first[0].At; at.After(left[1].LeaseUntil) {
			t.Errorf("the expired page came at %s, after the other lease ran out (%s)", at, left[1].LeaseUntil)
		}
		got := p.waitFor(t, 2, 5*time.Second)
		if got[1].User != "bob@example.com" || got[1].At.Before(left[1].LeaseUntil) {
			t.Errorf("second page %+v, want bob after %s", got[1], left[1].LeaseUntil)
		}
		time.Sleep(2500 * time.Millisecond) // longer than a lease: a page sent twice would show now
		if n := len(p.list()); n != 2 {
			t.Errorf("%d pages, want alice once and bob once: %+v", n, p.list())
		}
		states := map[string]escalation.State{}
		for _, n := range left {
			got, err := esc.Notification(ctx, n.ID)
			if err != nil {
				t.Fatal(err)
			}
			states[n.AlertID+"/"+n.Username] = got.State
		}
		want := map[string]escalation.State{
			live.ID + "/alice@example.com": escalation.Sent, live.ID + "/bob@example.com": escalation.Sent,
			acked.ID + "/alice@example.com": escalation.Cancelled,
		}
		for k, s := range want {
			if states[k] != s {
				t.Errorf("notification %s is %s, want %s", k, states[k], s)
			}
		}
	})
}

// createUnrouted makes an alert that routes to nobody, so that the only pages about it are the ones
// the test leaves behind.
func createUnrouted(t testing.TB, env *servertest.Env, alias string) *alert.Alert {
	t.Helper()
	res, err := env.App.Alerts.Create(context.Background(), alert.Origin{Actor: alert.Actor{Kind: alert.ActorIntegration, ID: "i", Name: "test"}},
		alert.CreateRequest{Message: "orphaned page", Alias: alias})
	if err != nil {
		t.Fatal(err)
	}
	return res.Alert
}

func orphan(a *alert.Alert, step int, user, to string, leaseUntil time.Time) *escalation.Notification {
	now := time.Now()
	return &escalation.Notification{
		ID: alert.NewID(), Key: a.ID + "/orphan/" + user, AlertID: a.ID, Epoch: a.EscalationEpoch, Step: step,
		Username: user, Method: "webhook", To: to, State: escalation.Pending,
		DueAt: now, CreatedAt: now, UpdatedAt: now, LeaseUntil: leaseUntil,
	}
}

func TestAStepWhoseProcessDiedFiresOnceWhenItsLeaseRunsOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		p := newPager(t)
		env := servertest.StartWith(t, server.Config{Database: dsn, WebhookSecret: secret, PageLease: 2 * time.Second})
		env.Apply(t, config(p, time.Hour))
		ctx := context.Background()
		a := createUnrouted(t, env, "step-lease")
		esc := env.App.DB.Escalations(env.App.Queue)
		// A process scheduled the policy's second step, claimed it, and died.
		policy := &escalation.Policy{Name: "secops-escalation", Rules: []escalation.Rule{
			{Target: escalation.Target{User: "alice@example.com"}},
			{Delay: time.Minute, Target: escalation.Target{User: "bob@example.com"}},
		}}
		step := escalation.StepArgs{AlertID: a.ID, Epoch: a.EscalationEpoch, Step: 1, Base: time.Now().Add(-time.Minute).UnixMilli(), Policy: policy}
		// Due a second from now, so that this process's own step poller cannot claim it before the
		// "dead" process below does (on a busy machine it did).
		err := esc.InTx(ctx, func(tx escalation.Tx) error { return tx.ScheduleStep(ctx, step, time.Now().Add(time.Second)) })
		if err != nil {
			t.Fatal(err)
		}
		claimedUntil := time.Now().Add(1500 * time.Millisecond)
		if ok, err := esc.ClaimStep(ctx, escalation.DueStep{Key: step.Key()}, claimedUntil); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		got := p.waitFor(t, 1, 5*time.Second)
		if got[0].User != "bob@example.com" || got[0].Step != 2 || got[0].At.Before(claimedUntil) {
			t.Errorf("page %+v, want bob for step 2 after %s", got[0], claimedUntil)
		}
		time.Sleep(2500 * time.Millisecond)
		if n := len(p.list()); n != 1 {
			t.Errorf("%d pages, want the step to fire once: %+v", n, p.list())
		}
		if due, err := esc.DueSteps(ctx, time.Now().Add(time.Hour), 10); err != nil || len(due) != 0 {
			t.Errorf("steps left after firing: %+v %v", due, err)
		}
	})
}

func TestPagesBeyondTheQueueGoOutInOrderWithoutWaitingForTheirLeases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		p := newPager(t)
		p.delay = 300 * time.Millisecond // keeps the 32 senders busy while the alerts come
		// A queue of two and a lease of a minute: before spilled pages were kept, the ones that
		// found the queue full waited for their leases to run out.
		env := servertest.StartWith(t, server.Config{Database: dsn, WebhookSecret: secret, PageQueue: 2})
		env.Apply(t, config(p, time.Hour))
		const n = 60
		ids := map[string]bool{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				id := createForTeam(t, env, fmt.Sprintf("spill-%d", i)).ID
				mu.Lock()
				ids[id] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		got := p.waitFor(t, n, 20*time.Second)
		for _, pg := range got {
			if !ids[pg.Alert] || pg.User != "alice@example.com" {
				t.Errorf("page %+v: not one of the alerts' first steps", pg)
			}
			delete(ids, pg.Alert)
		}
		if len(ids) != 0 {
			t.Errorf("%d alerts not paged: %v", len(ids), ids)
		}
		time.Sleep(500 * time.Millisecond)
		if len(p.list()) != n {
			t.Errorf("%d pages, want %d", len(p.list()), n)
		}
	})
}
