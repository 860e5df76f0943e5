package load

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is what one request does to tocsin.
type Kind string

// The kinds of request.
const (
	// KindNew is a finding tocsin has not seen: it makes an alert, which pages the on-call person.
	KindNew Kind = "new"
	// KindRedeliver posts a message already acknowledged again, byte for byte (same MessageId), as
	// SNS does when it did not see the answer: tocsin must change nothing.
	KindRedeliver Kind = "redeliver"
	// KindUpdate is a finding already acknowledged, updated by its provider: same Id and seq marker,
	// a later UpdatedAt, another severity and title text. It counts on the open alert; no new page.
	KindUpdate Kind = "update"
	// KindResolve is a finding already acknowledged, now resolved (Workflow.Status RESOLVED, or
	// RecordState ARCHIVED, in turn): it closes the alert.
	KindResolve Kind = "resolve"
)

// kinds lists every Kind in the order of Mix's fields and of reports.
var kinds = [...]Kind{KindNew, KindRedeliver, KindUpdate, KindResolve}

// Mix weighs the kinds of request; only the proportions matter. The zero Mix means only new findings.
type Mix struct {
	New       int `json:"new"`
	Redeliver int `json:"redeliver"`
	Update    int `json:"update"`
	Resolve   int `json:"resolve"`
}

// DefaultMix is the mix the command line uses without --mix.
const DefaultMix = "new=70,redeliver=10,update=15,resolve=5"

// ParseMix reads "new=70,redeliver=10,update=15,resolve=5". Kinds left out weigh 0; new must weigh
// more than 0, since every other kind needs a finding it made.
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok {
			return Mix{}, fmt.Errorf("mix %q: %q is not KIND=WEIGHT", s, part)
		}
		if seen[name] {
			return Mix{}, fmt.Errorf("mix %q: %s given twice", s, name)
		}
		seen[name] = true
		w, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil || w < 0 {
			return Mix{}, fmt.Errorf("mix %q: the weight of %s must be a whole number ≥ 0", s, name)
		}
		switch Kind(name) {
		case KindNew:
			m.New = w
		case KindRedeliver:
			m.Redeliver = w
		case KindUpdate:
			m.Update = w
		case KindResolve:
			m.Resolve = w
		default:
			return Mix{}, fmt.Errorf("mix %q: unknown kind %q (want new, redeliver, update, resolve)", s, name)
		}
	}
	return m, m.validate()
}

func (m Mix) validate() error {
	if m.New < 0 || m.Redeliver < 0 || m.Update < 0 || m.Resolve < 0 {
		return errors.New("mix: weights must not be negative")
	}
	if m.New == 0 && (m.Redeliver > 0 || m.Update > 0 || m.Resolve > 0) {
		return errors.New("mix: new must weigh more than 0: redeliveries, updates and resolves need findings to act on")
	}
	return nil
}

// String is the Mix as ParseMix reads it.
func (m Mix) String() string {
	return fmt.Sprintf("new=%d,redeliver=%d,update=%d,resolve=%d", m.New, m.Redeliver, m.Update, m.Resolve)
}

func (m Mix) weights() [len(kinds)]int {
	if m == (Mix{}) {
		return [len(kinds)]int{1, 0, 0, 0}
	}
	return [len(kinds)]int{m.New, m.Redeliver, m.Update, m.Resolve}
}

// plan is what the planner decided one request is, before it is built and signed.
type plan struct {
	kind      Kind
	seq       int
	updatedAt time.Time // the finding's UpdatedAt, later for every update and resolve of one finding
	version   int       // 0 for the new finding, then 1, 2, … for its updates and resolve
	original  *signed   // for KindRedeliver, the message to post again
}

// redeliverPool is how many acknowledged messages are kept to be redelivered: the most recent ones,
// as SNS redelivers soon or not at all. It bounds memory in a long soak.
const redeliverPool = 4096

// planner decides the kind of each request, in exact proportions: it picks kinds by smooth weighted
// round robin (over any Σweights consecutive picks, each kind comes up exactly its weight), and a kind
// with nothing to act on yet (no acknowledged finding at the start of a run) is replaced by a new
// finding and counted as a fallback. It is safe for concurrent use.
type planner struct {
	mu      sync.Mutex
	weights [len(kinds)]int
	current [len(kinds)]int
	total   int
	limit   int // requests to plan; 0 is no limit
	planned int
	rng     *rand.Rand
	now     func() time.Time

	nextSeq   int
	updatedAt []time.Time // by seq: the UpdatedAt of its latest message
	versions  []int       // by seq: messages made about it
	open      []int       // acknowledged new findings not resolved: what updates and resolves act on
	ring      []*signed   // acknowledged messages, for redeliveries
	ringNext  int
	fallbacks int
}

func newPlanner(m Mix, limit int, seed uint64) *planner {
	p := &planner{weights: m.weights(), limit: limit, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: time.Now}
	for _, w := range p.weights {
		p.total += w
	}
	return p
}

// next plans the next request; false when the limit is reached.
func (p *planner) next() (plan, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.limit > 0 && p.planned >= p.limit {
		return plan{}, false
	}
	p.planned++
	best := 0
	for i, w := range p.weights {
		p.current[i] += w
		if p.current[i] > p.current[best] {
			best = i
		}
	}
	p.current[best] -= p.total
	kind := kinds[best]

	switch kind {
	case KindRedeliver:
		if len(p.ring) > 0 {
			return plan{kind: kind, original: p.ring[p.rng.IntN(len(p.ring))]}, true
		}
	case KindUpdate, KindResolve:
		if len(p.open) > 0 {
			i := p.rng.IntN(len(p.open))
			seq := p.open[i]
			if kind == KindResolve { // nothing acts on a finding after its resolve: it would open a new alert
				p.open[i] = p.open[len(p.open)-1]
				p.open = p.open[:len(p.open)-1]
			}
			at := p.now().UTC().Truncate(time.Millisecond)
			if !at.After(p.updatedAt[seq]) {
				at = p.updatedAt[seq].Add(time.Millisecond)
			}
			p.updatedAt[seq] = at
			p.versions[seq]++
			return plan{kind: kind, seq: seq, updatedAt: at, version: p.versions[seq]}, true
		}
	}
	if kind != KindNew {
		p.fallbacks++
	}
	seq := p.nextSeq
	p.nextSeq++
	at := p.now().UTC().Truncate(time.Millisecond)
	p.updatedAt = append(p.updatedAt, at)
	p.versions = append(p.versions, 0)
	return plan{kind: KindNew, seq: seq, updatedAt: at}, true
}

// acked records that tocsin answered s with a 2xx, which makes its finding (for a new one) and the
// message itself targets of later requests.
func (p *planner) acked(s *signed) {
	if s.kind == KindRedeliver {
		return // the original is in the ring already
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.kind == KindNew {
		p.open = append(p.open, s.seq)
	}
	if len(p.ring) < redeliverPool {
		p.ring = append(p.ring, s)
	} else {
		p.ring[p.ringNext] = s
		p.ringNext = (p.ringNext + 1) % redeliverPool
	}
}

// openCount is how many findings updates and resolves may still act on.
func (p *planner) openCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.open)
}

// fallbackCount is how many picks of another kind became a new finding for want of a target.
func (p *planner) fallbackCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fallbacks
}
