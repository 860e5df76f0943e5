package load

import (
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
	"strings"
	"testing"
	"time"
)

func TestAMixIsReadFromKindEqualsWeight(t *testing.T) {
	tests := []struct {
		in      string
		want    Mix
		wantErr string
	}{
		{in: "new=70,redeliver=10,update=15,resolve=5", want: Mix{70, 10, 15, 5}},
		{in: " new = 1 , resolve=1 ", want: Mix{New: 1, Resolve: 1}},
		{in: "new=100", want: Mix{New: 100}},
		{in: DefaultMix, want: Mix{70, 10, 15, 5}},
		{in: "", want: Mix{}},
		{in: "new=70,update=x", wantErr: "whole number"},
		{in: "new=-1", wantErr: "whole number"},
		{in: "new=1,new=2", wantErr: "given twice"},
		{in: "new=1,delete=2", wantErr: "unknown kind"},
		{in: "new", wantErr: "KIND=WEIGHT"},
		{in: "update=10,resolve=1", wantErr: "new must weigh more than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMix(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseMix = %+v, %v; want %+v", got, err, tt.want)
			}
			if again, err := ParseMix(got.String()); err != nil || again != got {
				t.Errorf("String %q does not read back: %+v, %v", got.String(), again, err)
			}
		})
	}
}

// drive plans n requests and acknowledges each at once, as a tocsin that answers everything 2xx
// before the next is planned; it returns the count of each kind.
func drive(p *planner, n int) map[Kind]int {
	got := map[Kind]int{}
	for range n {
		pl, ok := p.next()
		if !ok {
			break
		}
		got[pl.kind]++
		p.acked(&signed{kind: pl.kind, seq: pl.seq})
	}
	return got
}

func TestTheKindsComeInTheMixsExactProportions(t *testing.T) {
	tests := []struct {
		mix  Mix
		n    int
		want map[Kind]int
	}{
		// The first pick is new (the highest weight), so there is a target from the second on.
		{Mix{70, 10, 15, 5}, 1000, map[Kind]int{KindNew: 700, KindRedeliver: 100, KindUpdate: 150, KindResolve: 50}},
		{Mix{1, 1, 1, 1}, 400, map[Kind]int{KindNew: 100, KindRedeliver: 100, KindUpdate: 100, KindResolve: 100}},
		{Mix{New: 3, Update: 1}, 400, map[Kind]int{KindNew: 300, KindUpdate: 100}},
		{Mix{}, 50, map[Kind]int{KindNew: 50}},
	}
	for _, tt := range tests {
		t.Run(tt.mix.String(), func(t *testing.T) {
			p := newPlanner(tt.mix, 0, 1)
			got := drive(p, tt.n)
			for _, k := range kinds {
				if got[k] != tt.want[k] {
					t.Errorf("%s: %d of %d, want %d (all: %v)", k, got[k], tt.n, tt.want[k], got)
				}
			}
			if f := p.fallbackCount(); f != 0 {
				t.Errorf("%d fallbacks with every finding acknowledged at once", f)
			}
		})
	}
}

func TestWithNothingAcknowledgedEveryRequestIsANewFinding(t *testing.T) {
	p := newPlanner(Mix{70, 10, 15, 5}, 0, 1)
	for i := range 100 {
		pl, _ := p.next()
		if pl.kind != KindNew || pl.seq != i {
			t.Fatalf("request %d: %s of seq %d, want new finding %d", i, pl.kind, pl.seq, i)
		}
	}
	if f := p.fallbackCount(); f != 30 {
		t.Errorf("fallbacks = %d, want the 30 non-new picks", f)
	}
}

func TestUpdatesAndResolvesActOnlyOnAcknowledgedOpenFindingsWithALaterUpdatedAt(t *testing.T) {
	p := newPlanner(Mix{New: 1, Update: 2, Resolve: 2}, 0, 7)
	clock := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return clock } // frozen: UpdatedAt must still move on
	acked := map[int]bool{}
	resolved := map[int]bool{}
	last := map[int]time.Time{}
	for range 2000 {
		pl, ok := p.next()
		if !ok {
			t.Fatal("planner stopped without a limit")
		}
		switch pl.kind {
		case KindNew:
			// Acknowledge only even seqs: odd ones are never targets.
			if pl.seq%2 == 0 {
				acked[pl.seq] = true
				p.acked(&signed{kind: KindNew, seq: pl.seq})
			}
		case KindUpdate, KindResolve:
			if !acked[pl.seq] {
				t.Fatalf("%s of seq %d, which was never acknowledged", pl.kind, pl.seq)
			}
			if resolved[pl.seq] {
				t.Fatalf("%s of seq %d after its resolve", pl.kind, pl.seq)
			}
			if !pl.updatedAt.After(last[pl.seq]) {
				t.Fatalf("%s of seq %d has UpdatedAt %s, not after %s", pl.kind, pl.seq, pl.updatedAt, last[pl.seq])
			}
			if pl.kind == KindResolve {
				resolved[pl.seq] = true
			}
		}
		last[pl.seq] = pl.updatedAt
	}
	if len(resolved) == 0 || p.openCount() != len(acked)-len(resolved) {
		t.Errorf("%d acknowledged, %d resolved, %d still open", len(acked), len(resolved), p.openCount())
	}
}

func TestRedeliveriesRepeatAnAcknowledgedMessage(t *testing.T) {
	p := newPlanner(Mix{New: 1, Redeliver: 1}, 0, 3)
	sent := map[*signed]bool{}
	for range 200 {
		pl, _ := p.next()
		if pl.kind == KindRedeliver {
			if !sent[pl.original] {
				t.Fatalf("redelivery of a message that was not acknowledged: %+v", pl.original)
			}
			continue
		}
		s := &signed{kind: pl.kind, seq: pl.seq, msg: &Message{ID: snstest.NewUUID()}}
		sent[s] = true
		p.acked(s)
	}
}

func TestThePlannerStopsAtItsLimit(t *testing.T) {
	p := newPlanner(Mix{}, 5, 1)
	if got := drive(p, 100)[KindNew]; got != 5 {
		t.Fatalf("planned %d, want the limit 5", got)
	}
}
