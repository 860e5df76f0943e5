package writeback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/tocsin-dev/tocsin/internal/securityhub/awsapi"
)

// DefaultWindow is how long the first write of a batch waits for others. A burst of
// acknowledgements arrives at a few hundred a second (each is a transaction and a job), so a second
// lets a call fill to 100 findings (BENCHMARKS.md: 250 ms made 188 calls for 10,000 acks, 1 s made
// 102); a single acknowledgement still shows in Security Hub within about a second.
const DefaultWindow = time.Second

// callTimeout bounds one BatchUpdateFindings call, rate-limit wait included.
const callTimeout = 2 * time.Minute

// batcher collects the writes that are due together and makes as few calls as the API allows.
// Writes join an open batch for their role, region and update; a batch is sent when it holds
// awsapi.MaxFindingsPerCall findings or when its window ends, whichever is first. Every waiting write
// gets its own finding's outcome.
type batcher struct {
	call   Caller
	window time.Duration
	log    *slog.Logger

	mu   sync.Mutex
	open map[batchKey]*pending
	seq  uint64
}

type batchKey struct {
	role   awsapi.Role
	region string
	update awsapi.Update
}

type pending struct {
	items   []awsapi.Item
	waiters map[string]chan error
	sent    bool
}

func newBatcher(c Caller, window time.Duration, log *slog.Logger) *batcher {
	return &batcher{call: c, window: window, log: log, open: map[batchKey]*pending{}}
}

// UnprocessedError is a finding AWS answered as not updated.
type UnprocessedError struct {
	Code, Message string
	Retry         bool
}

func (e *UnprocessedError) Error() string {
	return fmt.Sprintf("Security Hub did not update the finding: %s: %s", e.Code, e.Message)
}

// permanent reports whether no retry of err can succeed.
func permanent(err error) bool {
	var u *UnprocessedError
	if errors.As(err, &u) {
		return !u.Retry
	}
	return awsapi.IsPermanent(err)
}

// do adds item to the open batch for its key and waits for the outcome of its finding.
func (b *batcher) do(ctx context.Context, role awsapi.Role, item awsapi.Item) error {
	region := item.Finding.Region
	if region == "" {
		region = role.Region
	}
	key := batchKey{role: role, region: region, update: item.Update}
	done := make(chan error, 1)

	b.mu.Lock()
	b.seq++
	item.Key = strconv.FormatUint(b.seq, 10)
	p := b.open[key]
	if p == nil {
		p = &pending{waiters: map[string]chan error{}}
		b.open[key] = p
		time.AfterFunc(b.window, func() { b.flush(key, p) })
	}
	p.items = append(p.items, item)
	p.waiters[item.Key] = done
	full := len(p.items) >= awsapi.MaxFindingsPerCall
	if full {
		delete(b.open, key) // the next write starts a new batch
	}
	b.mu.Unlock()
	if full {
		go b.flush(key, p)
	}

	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// The call goes ahead for the others; this job is retried, and writing the same update
		// twice is harmless.
		return ctx.Err()
	}
}

// flush sends p unless it was sent already (full, then its window ended too).
func (b *batcher) flush(key batchKey, p *pending) {
	b.mu.Lock()
	if p.sent {
		b.mu.Unlock()
		return
	}
	p.sent = true
	if b.open[key] == p {
		delete(b.open, key)
	}
	b.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	// Each waiter is answered exactly once; one the call's result did not name is retried.
	answer := func(key string, err error) {
		if ch, ok := p.waiters[key]; ok {
			delete(p.waiters, key)
			ch <- err
		}
	}
	for _, batch := range awsapi.Batches(p.items, key.role.Region) {
		res, err := b.call.BatchUpdate(ctx, key.role, batch)
		if err != nil {
			b.log.Debug("security hub write-back call failed", "region", batch.Region, "findings", len(batch.Items), "err", err)
			for _, it := range batch.Items {
				answer(it.Key, err)
			}
			continue
		}
		for _, it := range res.Processed {
			answer(it.Key, nil)
		}
		for _, f := range res.Unprocessed {
			answer(f.Key, &UnprocessedError{Code: f.Code, Message: f.Message, Retry: f.Retry})
		}
	}
	for key := range p.waiters {
		answer(key, &UnprocessedError{Code: "NotAnswered", Message: "the call's result did not name this finding", Retry: true})
	}
}
