package awsapi

import (
	"strings"
	"unicode/utf8"
)

// Limits of BatchUpdateFindings.
const (
	// MaxFindingsPerCall is how many FindingIdentifiers one call may carry.
	MaxFindingsPerCall = 100
	// MaxNoteRunes bounds Note.Text and Note.UpdatedBy.
	MaxNoteRunes = 512
)

// DefaultUpdatedBy signs a note whose Update names nobody: the API refuses a Note without UpdatedBy.
const DefaultUpdatedBy = "tocsin"

// The workflow statuses BatchUpdateFindings accepts.
const (
	WorkflowNew        = "NEW"
	WorkflowNotified   = "NOTIFIED"
	WorkflowResolved   = "RESOLVED"
	WorkflowSuppressed = "SUPPRESSED"
)

// Update is one change to write to findings. Fields left empty are not sent, so that, say, adding a
// note never touches the workflow status someone else set in the console.
type Update struct {
	// Workflow is NEW, NOTIFIED, RESOLVED, SUPPRESSED or "".
	Workflow string
	// NoteText replaces the finding's note (Security Hub keeps one note per finding). Sent only when
	// it holds more than white space; cut to MaxNoteRunes when sent.
	NoteText string
	// NoteUpdatedBy names who wrote the note; DefaultUpdatedBy when empty.
	NoteUpdatedBy string
	// SeverityLabel is CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL or "".
	SeverityLabel string
}

// Empty reports whether u would change nothing.
func (u Update) Empty() bool {
	return u.Workflow == "" && !u.hasNote() && u.SeverityLabel == ""
}

func (u Update) hasNote() bool { return strings.TrimSpace(u.NoteText) != "" }

// CutNote makes s fit Note.Text or Note.UpdatedBy: invalid UTF-8 becomes U+FFFD (what JSON encoding
// would do anyway, so the count below is the count AWS sees) and text longer than MaxNoteRunes ends
// in "…" at exactly MaxNoteRunes runes, so a reader in the console can tell it was cut.
func CutNote(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= MaxNoteRunes {
		return s
	}
	n := 0
	for i := range s {
		if n == MaxNoteRunes-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// Finding says which finding to update and where it lives.
type Finding struct {
	Id         string
	ProductArn string
	// Region is the finding's home region; "" means the integration's default region.
	Region string
	// AccountID is the account the finding belongs to. It is not sent: BatchUpdateFindings finds a
	// finding by Id and ProductArn alone. It is kept for logs and for the caller.
	AccountID string
}

func (f Finding) ident() findingIdent { return findingIdent{f.Id, f.ProductArn} }

// findingIdent is what AWS matches a finding by, in requests and in UnprocessedFindings.
type findingIdent struct{ id, productArn string }

// Item is one pending write-back.
type Item struct {
	// Key is the caller's id for the pending row, handed back in Result untouched.
	Key     string
	Finding Finding
	Update  Update
}

// Batch is one BatchUpdateFindings call: one region, one update, at most MaxFindingsPerCall distinct
// findings. Items may hold more entries than that when several share a finding: each is answered in
// Result, but the finding is sent once.
type Batch struct {
	Region string
	Update Update
	Items  []Item
}

// Batches groups items into as few calls as the API allows: a call goes to one region (a finding's
// own Region, else defaultRegion) and applies one update to every finding in it.
//
// Order matters when the same finding has several updates pending (acknowledged, then closed): the
// last one must land last. So every item gets a generation, one past the generation of the previous
// different update to the same finding, and batches come out generation by generation; within a
// generation, in the order their first item came in. The result depends on nothing but the input.
// An item repeating the previous update of its finding joins that finding's batch and is not sent
// again.
func Batches(items []Item, defaultRegion string) []Batch {
	type groupKey struct {
		gen    int
		region string
		update Update
	}
	type group struct {
		key    groupKey
		chunks []*chunk
	}
	type last struct {
		gen    int
		update Update
		chunk  *chunk
	}
	var (
		groups  []*group
		byKey   = make(map[groupKey]*group)
		latest  = make(map[findingIdent]last)
		maxGens int
	)
	for _, it := range items {
		region := it.Finding.Region
		if region == "" {
			region = defaultRegion
		}
		id := it.Finding.ident()
		gen := 0
		if prev, ok := latest[id]; ok {
			if prev.update == it.Update {
				prev.chunk.items = append(prev.chunk.items, it)
				continue
			}
			gen = prev.gen + 1
		}
		k := groupKey{gen, region, it.Update}
		g := byKey[k]
		if g == nil {
			g = &group{key: k}
			byKey[k] = g
			groups = append(groups, g)
		}
		var c *chunk
		if n := len(g.chunks); n > 0 && g.chunks[n-1].distinct < MaxFindingsPerCall {
			c = g.chunks[n-1]
		} else {
			c = &chunk{}
			g.chunks = append(g.chunks, c)
		}
		c.items = append(c.items, it)
		c.distinct++
		latest[id] = last{gen: gen, update: it.Update, chunk: c}
		maxGens = max(maxGens, gen+1)
	}
	var out []Batch
	for gen := range maxGens {
		for _, g := range groups {
			if g.key.gen != gen {
				continue
			}
			for _, c := range g.chunks {
				out = append(out, Batch{Region: g.key.region, Update: g.key.update, Items: c.items})
			}
		}
	}
	return out
}

type chunk struct {
	items    []Item
	distinct int
}
