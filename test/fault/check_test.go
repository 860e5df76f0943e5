//go:build fault

package fault

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/load"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
	"github.com/tocsin-dev/tocsin/internal/store"
)

// verdict compares what the generator was answered 2xx for with the database and the emails.
type verdict struct {
	AckedNew int // new findings answered 2xx
	Resolved int // … of which a resolve was answered 2xx
	// Missing are acknowledged new findings without an alert: data tocsin lost after a 2xx.
	Missing []int
	// Twice are findings with more than one alert.
	Twice []int
	// Owed counts the pages due: steps × acknowledged new findings never resolved.
	Owed int
	// Lost are findings owed a page for some step that never came.
	Lost []int
	// DoublePaged are findings paged for more distinct pages than their policy has steps: one
	// person paged twice for one step.
	DoublePaged []int
	// Repeats counts emails that repeat a page already received (same page, same Message-ID
	// prefix): a page in flight when its process was killed, sent again after its lease.
	Repeats int
	// RepeatedTwice counts pages that arrived three times or more.
	RepeatedTwice int
	// Pending counts notifications due but still pending in the database.
	Pending int
}

func (v verdict) String() string {
	return fmt.Sprintf("acked new findings %d (resolved %d), missing alerts %d, alerts twice %d, pages owed %d, lost %d, double-paged %d, repeats %d (of them repeated again %d), still pending %d",
		v.AckedNew, v.Resolved, len(v.Missing), len(v.Twice), v.Owed, len(v.Lost), len(v.DoublePaged), v.Repeats, v.RepeatedTwice, v.Pending)
}

// pageKey is the part of an email's Message-ID that names the page (the notification's idempotency
// key, hashed): a page sent again has the same key; another page, even about the same alert, not.
func pageKey(messageID string) string {
	id := strings.TrimPrefix(strings.TrimSpace(messageID), "<")
	k, _, _ := strings.Cut(id, ".")
	return k
}

// check reads the database at dsn and the sink's emails and judges res; steps is how many pages the
// policy sends each finding nobody acknowledges.
func check(t *testing.T, dsn string, res *load.Result, sink *load.Sink, steps int) verdict {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var v verdict
	newSeqs := map[int]string{} // seq → alias
	resolved := map[int]bool{}
	for _, rq := range res.Requests {
		switch rq.Kind {
		case load.KindNew:
			newSeqs[rq.Seq] = securityhub.Alias(rq.FindingID)
		case load.KindResolve:
			resolved[rq.Seq] = true
		}
	}
	v.AckedNew, v.Resolved = len(newSeqs), len(resolved)

	alerts := map[string]int{}
	rows, err := db.SQL().QueryContext(ctx, `SELECT alias, COUNT(*) FROM alerts GROUP BY alias`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var alias string
		var n int
		if err := rows.Scan(&alias, &n); err != nil {
			t.Fatal(err)
		}
		alerts[alias] = n
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for seq, alias := range newSeqs {
		switch n := alerts[alias]; {
		case n == 0:
			v.Missing = append(v.Missing, seq)
		case n > 1:
			v.Twice = append(v.Twice, seq)
		}
	}

	keys := map[int]map[string]int{} // seq → page key → emails
	emails, _ := sink.Emails(0)
	for _, e := range emails {
		if e.Run != res.Run || e.Seq < 0 {
			continue
		}
		if keys[e.Seq] == nil {
			keys[e.Seq] = map[string]int{}
		}
		keys[e.Seq][pageKey(e.MessageID)]++
	}
	for seq := range newSeqs {
		pages := keys[seq]
		if !resolved[seq] {
			v.Owed += steps
			if len(pages) < steps {
				v.Lost = append(v.Lost, seq)
			}
		}
		if len(pages) > steps {
			v.DoublePaged = append(v.DoublePaged, seq)
		}
		for _, n := range pages {
			v.Repeats += n - 1
			if n > 2 {
				v.RepeatedTwice++
			}
		}
	}
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE state = 'pending' AND due_at <= $1`,
		time.Now().Add(-pageLease).UnixMilli()).Scan(&v.Pending); err != nil {
		t.Fatal(err)
	}
	for _, s := range [][]int{v.Missing, v.Twice, v.Lost, v.DoublePaged} {
		slices.Sort(s)
	}
	return v
}

// require fails the test for every broken promise: no acknowledged finding lost, none twice, no
// page lost, nobody paged twice for one step, no page repeated more than once.
func (v verdict) require(t *testing.T) {
	t.Helper()
	if v.AckedNew == 0 {
		t.Fatal("no new finding was acknowledged: the run proves nothing")
	}
	if len(v.Missing) > 0 {
		t.Errorf("%d acknowledged findings have no alert: seqs %v", len(v.Missing), first(v.Missing))
	}
	if len(v.Twice) > 0 {
		t.Errorf("%d findings have more than one alert: seqs %v", len(v.Twice), first(v.Twice))
	}
	if len(v.Lost) > 0 {
		t.Errorf("%d findings are missing a page: seqs %v", len(v.Lost), first(v.Lost))
	}
	if len(v.DoublePaged) > 0 {
		t.Errorf("%d findings paged twice for one step: seqs %v", len(v.DoublePaged), first(v.DoublePaged))
	}
	if v.RepeatedTwice > 0 {
		t.Errorf("%d pages arrived three times or more", v.RepeatedTwice)
	}
	if v.Pending > 0 {
		t.Errorf("%d notifications are still pending long after they were due", v.Pending)
	}
}

func first(s []int) []int { return s[:min(len(s), 20)] }

// waitFor checks until every page owed has come, or within has passed, and returns the last verdict.
func waitFor(t *testing.T, dsn string, res *load.Result, sink *load.Sink, steps int, within time.Duration) verdict {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		v := check(t, dsn, res, sink, steps)
		if len(v.Lost) == 0 && v.Pending == 0 {
			return v
		}
		if time.Now().After(deadline) {
			if v.Pending > 0 {
				db, err := store.Open(context.Background(), dsn)
				if err == nil {
					logPending(t, db)
					db.Close()
				}
			}
			return v
		}
		time.Sleep(time.Second)
	}
}

// logPending shows some notifications still pending, to tell a stuck job from a lost lease.
func logPending(t *testing.T, db *store.DB) {
	t.Helper()
	rows, err := db.SQL().QueryContext(context.Background(), `SELECT n.id, n.alert_id, n.step, n.attempts, n.error, n.due_at, n.lease_until, n.created_at,
		COALESCE((SELECT string_agg(j.state || ' attempt ' || j.attempt || ' by ' || COALESCE(j.attempted_by::text, ''), '; ') FROM river_job j WHERE j.args->>'notificationId' = n.id), 'no job')
		FROM notifications n WHERE n.state = 'pending' ORDER BY n.created_at LIMIT 5`)
	if err != nil {
		rows, err = db.SQL().QueryContext(context.Background(), `SELECT id, alert_id, step, attempts, error, due_at, lease_until, created_at, '' FROM notifications WHERE state = 'pending' ORDER BY created_at LIMIT 10`)
	}
	if err != nil {
		t.Logf("listing pending notifications: %v", err)
		return
	}
	defer rows.Close()
	now := time.Now().UnixMilli()
	for rows.Next() {
		var id, alertID, errText, jobs string
		var step, attempts int
		var due, lease, created int64
		if err := rows.Scan(&id, &alertID, &step, &attempts, &errText, &due, &lease, &created, &jobs); err != nil {
			t.Logf("reading a pending notification: %v", err)
			return
		}
		t.Logf("pending %s (alert %s, step %d): attempts %d, error %q, created %d ms ago, due %d ms ago, lease until %+d ms, jobs: %s",
			id, alertID, step, attempts, errText, now-created, now-due, lease-now, jobs)
	}
}
