package escalation

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
)

// Options tune how the engine sends pages that are due at once.
type Options struct {
	// Lease is how long the process that commits a page owns it. A page still pending after its
	// lease was in flight when its process died, and is sent again by whichever replica sweeps it
	// first. It must be longer than a send can take (SendTimeout) plus the time to record it.
	Lease time.Duration
	// SendTimeout bounds one send through a channel.
	SendTimeout time.Duration
	// Senders is how many pages are sent at once.
	Senders int
	// SweepEvery is how often the engine looks for pages whose lease ran out: pages whose process
	// died, pages held back after a failure, and contacts due after a delay.
	SweepEvery time.Duration
	// StepWorkers is how many scheduled steps fire at once.
	StepWorkers int
	// Queue is how many pages wait in memory, each with its alert, for a sender. Pages beyond it
	// wait as their notification alone, and their alerts are read again when the queue has room.
	Queue int
}

func (o *Options) defaults() {
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = min(30*time.Second, o.Lease/2)
	}
	if o.Senders <= 0 {
		o.Senders = 32
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = 250 * time.Millisecond
	}
	if o.StepWorkers <= 0 {
		// Several at once, so that their transactions share commits (SQLite) or run side by side.
		o.StepWorkers = 16
	}
	if o.Queue <= 0 {
		o.Queue = 8192
	}
}

// maxSpilled bounds the pages waiting beyond the queue (a notification each, a few hundred bytes).
// A page that finds even that full stays leased in the database and is swept when its lease runs
// out: slower, never lost.
const maxSpilled = 100_000

// finishBatch bounds how many sends are recorded in one transaction.
const finishBatch = 256

// recordLinger is how long the recorder waits for more outcomes before it writes what it has. The
// emails are out already, so the wait delays no page; under load it turns a commit for every two or
// three pages into one for dozens, and a commit is most of what recording costs the database.
const recordLinger = 10 * time.Millisecond

// page is one notification to send and the alert it is about.
type page struct {
	n *Notification
	a *alert.Alert
}

// pager sends the pages this process committed, records their outcomes in batches, and sweeps up
// pages whose process died.
type pager struct {
	queue    chan page
	finished chan *Notification
	// inflight holds the pages this process owns until their outcome is recorded, so that its own
	// sweeper never claims a page it is still sending when a lease runs out under a backlog.
	mu       sync.Mutex
	inflight map[string]struct{}
	// spilled are pages this process owns that found the queue full, oldest first; refill moves
	// them to the queue as it drains. nSpilled is len(spilled), for checks without the lock, and
	// wake tells refill that the queue is draining.
	spilled  []*Notification
	nSpilled atomic.Int64
	wake     chan struct{}
}

// Run sends pages due at once, sweeps pages whose lease ran out, and fires scheduled steps as they
// come due, until ctx ends; then it sends what is already queued, records it, and returns. Without
// Run, pages and steps wait in the database for a process that runs it.
func (e *Engine) Run(ctx context.Context) {
	p := &pager{
		queue:    make(chan page, e.opts.Queue),
		finished: make(chan *Notification, finishBatch*4),
		inflight: map[string]struct{}{},
		wake:     make(chan struct{}, 1),
	}
	// Sends and their records outlive ctx: a page taken off the queue is finished, not dropped.
	work := context.WithoutCancel(ctx)
	var senders, rest sync.WaitGroup
	for range e.opts.Senders {
		senders.Go(func() {
			for {
				select {
				case pg := <-p.queue:
					p.draining()
					e.deliver(work, p, pg)
				case <-ctx.Done():
					for {
						select {
						case pg := <-p.queue:
							e.deliver(work, p, pg)
						default:
							return
						}
					}
				}
			}
		})
	}
	rest.Go(func() { e.record(work, p) })
	rest.Go(func() { e.sweep(ctx, p) })
	rest.Go(func() { e.refillLoop(ctx, p) })
	rest.Go(func() { e.runSteps(ctx) })
	e.pager.Store(p)
	<-ctx.Done()
	e.pager.Store(nil)
	senders.Wait()
	close(p.finished)
	rest.Wait()
}

// dispatch hands pages committed by this process to its senders.
func (e *Engine) dispatch(due []page) {
	p := e.pager.Load()
	if p == nil || len(due) == 0 {
		return
	}
	for _, pg := range due {
		if !p.own(pg.n.ID) {
			continue
		}
		if p.nSpilled.Load() > 0 {
			p.spill(e, pg.n) // behind those already waiting, to keep the order
			continue
		}
		select {
		case p.queue <- pg:
		default:
			p.spill(e, pg.n)
		}
	}
}

// spill keeps a page that found the queue full, without its alert; when too many wait already, it
// goes out when its lease runs out.
func (p *pager) spill(e *Engine, n *Notification) {
	p.mu.Lock()
	first, full := len(p.spilled) == 0, len(p.spilled) >= maxSpilled
	if !full {
		p.spilled = append(p.spilled, n)
		p.nSpilled.Store(int64(len(p.spilled)))
	}
	p.mu.Unlock()
	switch {
	case full:
		p.release(n.ID)
		e.log.Warn("too many pages waiting to be sent: this one goes out when its lease runs out", "alert", n.AlertID, "notification", n.ID)
	case first:
		e.log.Warn("pages come faster than they are sent: the ones beyond the queue wait in order", "queue", cap(p.queue))
	}
}

// draining wakes refill when pages are spilled and the queue is less than half full.
func (p *pager) draining() {
	if p.nSpilled.Load() > 0 && len(p.queue) < cap(p.queue)/2 {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// unspill takes up to n of the oldest spilled pages.
func (p *pager) unspill(n int) []*Notification {
	p.mu.Lock()
	defer p.mu.Unlock()
	n = min(n, len(p.spilled))
	out := slices.Clone(p.spilled[:n])
	p.spilled = slices.Delete(p.spilled, 0, n)
	if len(p.spilled) == 0 {
		p.spilled = nil // let a large backlog's array go
	}
	p.nSpilled.Store(int64(len(p.spilled)))
	return out
}

// refillLoop refills the queue from the spilled pages when the senders say it is draining, and on
// the sweeper's beat.
func (e *Engine) refillLoop(ctx context.Context, p *pager) {
	every(ctx, e.opts.SweepEvery, p.wake, func() { e.refill(ctx, p) })
}

// every calls fn each period, and whenever wake (which may be nil) says so, until ctx ends.
func every(ctx context.Context, period time.Duration, wake <-chan struct{}, fn func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		fn()
	}
}

// refill moves spilled pages to the queue while it is less than half full, reading their alerts
// again. One whose alert stopped paging meanwhile is cancelled, as the sweeper would. Pages it
// cannot queue stay leased to this process and go out when their leases run out.
func (e *Engine) refill(ctx context.Context, p *pager) {
	for ctx.Err() == nil {
		room := cap(p.queue)/2 - len(p.queue)
		if room <= 0 {
			return
		}
		batch := p.unspill(min(room, 256))
		if len(batch) == 0 {
			return
		}
		for i, n := range batch {
			a, err := e.stillPages(ctx, n)
			if a != nil {
				select {
				case p.queue <- page{n: n, a: a}:
					continue
				case <-ctx.Done():
					err = context.Cause(ctx)
				}
			}
			if err != nil {
				e.log.Warn("reading a page's alert to send it: it goes out when its lease runs out", "notification", n.ID, "err", err)
			}
			p.release(n.ID)
			if ctx.Err() != nil {
				for _, left := range batch[i+1:] {
					p.release(left.ID)
				}
				return
			}
		}
	}
}

// own marks a page as this process's until its outcome is recorded; false if it already is.
func (p *pager) own(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.inflight[id]; ok {
		return false
	}
	p.inflight[id] = struct{}{}
	return true
}

func (p *pager) release(ids ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		delete(p.inflight, id)
	}
}

func (p *pager) owns(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.inflight[id]
	return ok
}

// deliver sends one page. Its outcome goes to the recorder; a temporary failure holds the page back
// for a backoff, after which the sweeper of any replica tries it again.
func (e *Engine) deliver(ctx context.Context, p *pager, pg page) {
	n := pg.n
	// A page that waited in the queue until its lease is short is claimed anew before it is sent:
	// under a backlog another replica may have taken it over meanwhile, and must not send it too.
	if e.now().After(n.LeaseUntil.Add(-e.opts.SendTimeout - e.opts.Lease/4)) {
		ok, err := e.store.Claim(ctx, n, e.now().Add(e.opts.Lease))
		if err != nil || !ok {
			if err != nil {
				e.log.Warn("renewing the lease of a page", "notification", n.ID, "err", err)
			}
			p.release(n.ID)
			return
		}
	}
	n.Attempts++
	sctx, cancel := context.WithTimeout(ctx, e.opts.SendTimeout)
	id, err := e.send.Send(sctx, n, pg.a)
	cancel()
	now := e.now()
	n.UpdatedAt = now
	switch {
	case err == nil:
		n.State, n.Error, n.ProviderID, n.SentAt, n.LeaseUntil = Sent, "", id, now, time.Time{}
	case e.send.Permanent(err) || n.Attempts >= MaxAttempts:
		e.log.Warn("notification failed", "alert", n.AlertID, "user", n.Username, "method", n.Method, "attempt", n.Attempts, "err", err)
		n.State, n.Error, n.LeaseUntil = Failed, err.Error(), time.Time{}
	default:
		// Held back until then: the lease doubles as "not before", so the sweeper retries it.
		wait, ok := e.send.RetryAfter(err)
		if !ok {
			wait = retryBackoff(n.Attempts)
		}
		n.Error, n.LeaseUntil = err.Error(), now.Add(wait)
	}
	p.finished <- n
}

// retryBackoff is how long a page waits after its attempts-th temporary failure: 1 s, 2 s, 4 s … up
// to 5 minutes, so a channel that is down for most of an hour still gets every page when it is back.
func retryBackoff(attempts int) time.Duration {
	return min(time.Second<<min(max(attempts-1, 0), 9), 5*time.Minute)
}

// record stores the outcomes of sends, many per transaction, until the senders are done.
func (e *Engine) record(ctx context.Context, p *pager) {
	batch := make([]*Notification, 0, finishBatch)
	linger := time.NewTimer(recordLinger)
	for n := range p.finished {
		batch = append(batch[:0], n)
		// Whatever else finishes meanwhile joins this transaction; under load that is many.
		linger.Reset(recordLinger)
	more:
		for len(batch) < finishBatch {
			select {
			case n, ok := <-p.finished:
				if !ok {
					break more
				}
				batch = append(batch, n)
			case <-linger.C:
				break more
			}
		}
		ids := make([]string, len(batch))
		for i, n := range batch {
			ids[i] = n.ID
		}
		for attempt := 0; ; attempt++ {
			err := e.store.FinishNotifications(ctx, batch)
			if err == nil {
				break
			}
			if attempt == 4 {
				// Not recorded: the pages stay pending and leased, and are sent again when their
				// leases run out. That repeats them, which beats losing them.
				e.log.Error("sent pages could not be recorded", "pages", len(batch), "err", err)
				break
			}
			time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
		}
		p.release(ids...)
	}
}

// sweep claims pages whose lease ran out (their process died while it owned them) and sends them.
func (e *Engine) sweep(ctx context.Context, p *pager) {
	every(ctx, e.opts.SweepEvery, nil, func() {
		expired, err := e.store.ExpiredLeases(ctx, e.now(), 100)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("looking for pages whose sender died", "err", err)
			}
			return
		}
		for _, n := range expired {
			if p.owns(n.ID) {
				continue
			}
			if err := e.takeOver(ctx, p, n); err != nil && ctx.Err() == nil {
				e.log.Warn("taking over a page whose sender died", "notification", n.ID, "err", err)
			}
		}
	})
}

// stillPages reads the alert of a page that waited, and returns it when the page should still go
// out. When it should not (the alert was deleted, or acknowledged, closed, snoozed or restarted
// meanwhile), it records the page as cancelled and returns a nil alert, with the error of that
// record or of the read.
func (e *Engine) stillPages(ctx context.Context, n *Notification) (*alert.Alert, error) {
	a, err := e.store.Alert(ctx, n.AlertID)
	switch {
	case errors.Is(err, alert.ErrNotFound):
		return nil, e.finish(ctx, n, Cancelled, "the alert was deleted")
	case err != nil:
		return nil, err
	case !live(a, n.Epoch):
		return nil, e.finish(ctx, n, Cancelled, "the alert was acknowledged, closed, snoozed or restarted first")
	}
	return a, nil
}

// takeOver claims one page whose lease ran out and sends it, or cancels it when its alert no
// longer pages.
func (e *Engine) takeOver(ctx context.Context, p *pager, n *Notification) error {
	ok, err := e.store.Claim(ctx, n, e.now().Add(e.opts.Lease))
	if err != nil || !ok {
		return err
	}
	a, err := e.stillPages(ctx, n)
	if a == nil {
		return err
	}
	e.log.Info("sending a page whose sender died", "alert", n.AlertID, "user", n.Username, "method", n.Method)
	e.dispatch([]page{{n: n, a: a}})
	return nil
}
