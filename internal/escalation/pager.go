package escalation

import (
	"context"
	"errors"
	"sync"
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
}

// pagerQueue bounds the pages waiting for a sender, and so the memory a backlog takes (each holds
// its alert). A page that finds it full stays leased in the database and is swept when its lease
// runs out: slower, never lost.
const pagerQueue = 8192

// finishBatch bounds how many sends are recorded in one transaction.
const finishBatch = 256

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
}

// Run sends pages due at once, sweeps pages whose lease ran out, and fires scheduled steps as they
// come due, until ctx ends; then it sends what is already queued, records it, and returns. Without
// Run, pages and steps wait in the database for a process that runs it.
func (e *Engine) Run(ctx context.Context) {
	p := &pager{
		queue:    make(chan page, pagerQueue),
		finished: make(chan *Notification, finishBatch*4),
		inflight: map[string]struct{}{},
	}
	// Sends and their records outlive ctx: a page taken off the queue is finished, not dropped.
	work := context.WithoutCancel(ctx)
	var senders, rest sync.WaitGroup
	for range e.opts.Senders {
		senders.Go(func() {
			for {
				select {
				case pg := <-p.queue:
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
		select {
		case p.queue <- pg:
		default:
			p.release(pg.n.ID)
			e.log.Warn("too many pages waiting to be sent: this one goes out when its lease runs out", "alert", pg.n.AlertID, "notification", pg.n.ID)
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
	for n := range p.finished {
		batch = append(batch[:0], n)
		// Whatever else finished meanwhile joins this transaction; under load that is many.
	more:
		for len(batch) < finishBatch {
			select {
			case n, ok := <-p.finished:
				if !ok {
					break more
				}
				batch = append(batch, n)
			default:
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
	t := time.NewTicker(e.opts.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		expired, err := e.store.ExpiredLeases(ctx, e.now(), 100)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("looking for pages whose sender died", "err", err)
			}
			continue
		}
		for _, n := range expired {
			if p.owns(n.ID) {
				continue
			}
			if err := e.takeOver(ctx, p, n); err != nil && ctx.Err() == nil {
				e.log.Warn("taking over a page whose sender died", "notification", n.ID, "err", err)
			}
		}
	}
}

// takeOver claims one page whose lease ran out and sends it, or cancels it when its alert no
// longer pages.
func (e *Engine) takeOver(ctx context.Context, p *pager, n *Notification) error {
	ok, err := e.store.Claim(ctx, n, e.now().Add(e.opts.Lease))
	if err != nil || !ok {
		return err
	}
	a, err := e.store.Alert(ctx, n.AlertID)
	switch {
	case errors.Is(err, alert.ErrNotFound):
		return e.finish(ctx, n, Cancelled, "the alert was deleted")
	case err != nil:
		return err
	case !live(a, n.Epoch):
		return e.finish(ctx, n, Cancelled, "the alert was acknowledged, closed, snoozed or restarted first")
	}
	e.log.Info("sending a page whose sender died", "alert", n.AlertID, "user", n.Username, "method", n.Method)
	e.dispatch([]page{{n: n, a: a}})
	return nil
}
