package alert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Occurrence is one thing an intake (Security Hub, a webhook) reported: either something happened
// (Create: make an alert, or count another occurrence of the open one) or it is over (CloseAlias: close
// the open alert with that alias, and never make one).
type Occurrence struct {
	Create     *CreateRequest
	CloseAlias string
	// CloseNote says why, e.g. "Security Hub: workflow status RESOLVED"; it becomes a note.
	CloseNote string
	// CloseVersion is the source's version of the record that says it is over (Security Hub: the
	// finding's UpdatedAt). The alert keeps it, so that an older report of the record that arrives
	// late (SNS does not keep order, and retries) is seen as not news instead of opening a new alert.
	CloseVersion int64
}

// IngestResult counts what an Ingest did.
type IngestResult struct {
	// Duplicate is true when the message key was seen before: nothing was changed.
	Duplicate bool
	Created   int
	Deduped   int
	Closed    int
	// Ignored counts closes for which no open alert existed.
	Ignored int
	// Quiet counts creates that were not news (see CreateRequest.SourceVersion).
	Quiet int
}

// Ingest applies every occurrence of one delivered message in ONE transaction, together with the
// message's key, so that a redelivery of the same message (same key) changes nothing and a crash
// leaves either all of it or none. An empty key skips the redelivery check.
func (s *Service) Ingest(ctx context.Context, o Origin, key string, items []Occurrence) (IngestResult, error) {
	for i := range items {
		if items[i].Create == nil {
			if items[i].CloseAlias = clean(items[i].CloseAlias); items[i].CloseAlias == "" {
				return IngestResult{}, invalid("", "occurrence %d neither creates nor closes", i)
			}
			continue
		}
		if err := items[i].Create.normalize(); err != nil {
			return IngestResult{}, fmt.Errorf("occurrence %d: %w", i, err)
		}
	}
	var (
		res     IngestResult
		created []CreateResult
		err     error
	)
	for range createAttempts {
		res, created, err = s.ingestOnce(ctx, o, clean(key), items)
		if !errors.Is(err, ErrAliasTaken) {
			break
		}
	}
	if err != nil {
		return IngestResult{}, err
	}
	for _, c := range created {
		c.afterCommit()
	}
	if s.onCreate != nil {
		for _, c := range created {
			s.onCreate(c)
		}
	}
	return res, nil
}

func (s *Service) ingestOnce(ctx context.Context, o Origin, key string, items []Occurrence) (IngestResult, []CreateResult, error) {
	var (
		res     IngestResult
		created []CreateResult
	)
	err := s.store.InTx(ctx, func(tx Tx) error {
		// The store may run this again after a deadlock: only the attempt that commits counts.
		res, created = IngestResult{}, nil
		now := s.now()
		if key != "" {
			fresh, err := tx.Remember(ctx, o.Actor.ID, key, now)
			if err != nil {
				return err
			}
			if !fresh {
				res.Duplicate = true
				return nil
			}
		}
		for _, it := range byAlias(items) {
			if it.Create != nil {
				stale, latest, err := notNews(ctx, tx, it.Create)
				if err != nil {
					return err
				}
				if stale {
					res.Quiet++
					continue
				}
				c, err := s.createIn(ctx, tx, o, *it.Create, now, latest)
				if err != nil {
					return err
				}
				created = append(created, c)
				if c.Deduped {
					res.Deduped++
				} else {
					res.Created++
				}
				continue
			}
			a, err := tx.OpenByAlias(ctx, it.CloseAlias)
			if errors.Is(err, ErrNotFound) {
				res.Ignored++
				if err := keepVersion(ctx, tx, it); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			text := closeAlert(a, now, o)
			a.UpdatedAt = now
			a.SourceVersion = max(a.SourceVersion, it.CloseVersion)
			if err := tx.Update(ctx, a); err != nil {
				return err
			}
			co := o
			co.Note = it.CloseNote
			co.RequestID = ""
			if err := s.record(ctx, tx, co, a, now, "Close", "alertClose", text, ""); err != nil {
				return err
			}
			res.Closed++
		}
		return nil
	})
	return res, created, err
}

// keepVersion gives the alias's latest (closed) alert the version of a close that found nothing
// open, so that reports older than the close stay quiet.
func keepVersion(ctx context.Context, tx Tx, it Occurrence) error {
	if it.CloseVersion == 0 {
		return nil
	}
	last, err := tx.LatestByAlias(ctx, it.CloseAlias)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil || last.SourceVersion >= it.CloseVersion {
		return err
	}
	last.SourceVersion = it.CloseVersion
	return tx.Update(ctx, last)
}

// notNews reports whether req reports a version of its source record that the alias's latest alert
// has already seen.
func notNews(ctx context.Context, tx Tx, req *CreateRequest) (bool, *aliasLatest, error) {
	if req.SourceVersion == 0 || req.Alias == "" {
		return false, nil, nil
	}
	last, err := tx.LatestByAlias(ctx, req.Alias)
	if errors.Is(err, ErrNotFound) {
		return false, &aliasLatest{}, nil
	}
	if err != nil {
		return false, nil, err
	}
	return last.SourceVersion >= req.SourceVersion, &aliasLatest{alert: last}, nil
}

// byAlias orders occurrences by alias (stable, so one alias keeps its order): every transaction then
// locks alerts in the same order, and two messages with the same findings cannot deadlock.
func byAlias(items []Occurrence) []Occurrence {
	alias := func(o Occurrence) string {
		if o.Create != nil {
			return o.Create.Alias
		}
		return o.CloseAlias
	}
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b Occurrence) int { return strings.Compare(alias(a), alias(b)) })
	return out
}
