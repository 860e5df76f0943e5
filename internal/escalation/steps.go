package escalation

import (
	"context"
	"sync"
	"time"
)

// stepPoll is how often the engine looks for steps that came due: a step fires within this (and the
// time its transaction takes) of being due.
const stepPoll = 100 * time.Millisecond

// stepBatch is how many due steps one claim takes.
const stepBatch = 100

// stepAttempts bounds retries of a step that fails (the database is down, say); with the backoff
// below that is about an hour.
const stepAttempts = 20

// stepBackoff is how long a step that failed attempts times waits: 1 s, 2 s, 4 s … up to 5 minutes.
func stepBackoff(attempts int) time.Duration {
	return min(time.Second<<min(attempts-1, 9), 5*time.Minute)
}

// runSteps fires scheduled steps as they come due, until ctx ends.
func (e *Engine) runSteps(ctx context.Context) {
	work := make(chan DueStep)
	var wg sync.WaitGroup
	for range e.opts.StepWorkers {
		wg.Go(func() {
			for s := range work {
				e.fireScheduled(context.WithoutCancel(ctx), s)
			}
		})
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	every(ctx, stepPoll, nil, func() {
		// A full batch means more are due: look again at once rather than a poll later.
		for {
			due, err := e.store.ClaimDueSteps(ctx, e.now(), e.now().Add(e.opts.Lease), stepBatch)
			if err != nil {
				if ctx.Err() == nil {
					e.log.Warn("claiming escalation steps that are due", "err", err)
				}
				return
			}
			for _, s := range due {
				select {
				case work <- s:
				case <-ctx.Done():
					return // claimed but not fired: another replica (or the next start) fires it after the lease
				}
			}
			if len(due) < stepBatch {
				return
			}
		}
	})
}

// fireScheduled fires one claimed step; a failure holds it back with backoff, and enough of them drop it.
func (e *Engine) fireScheduled(ctx context.Context, s DueStep) {
	err := e.Step(ctx, s.Args)
	if err == nil {
		return
	}
	attempts := s.Attempts + 1
	if attempts >= stepAttempts {
		e.log.Error("an escalation step failed too often and is dropped", "alert", s.Args.AlertID, "step", s.Args.Step+1, "round", s.Args.Round+1, "attempts", attempts, "err", err)
		if derr := e.store.DropStep(ctx, s.Key); derr != nil {
			e.log.Error("dropping a failed escalation step", "step", s.Key, "err", derr)
		}
		return
	}
	e.log.Warn("an escalation step failed; it is tried again", "alert", s.Args.AlertID, "step", s.Args.Step+1, "attempt", attempts, "err", err)
	if rerr := e.store.RetryStep(ctx, s.Key, attempts, e.now().Add(stepBackoff(attempts))); rerr != nil {
		// The lease still holds it back; it is tried again when the lease runs out.
		e.log.Error("holding back a failed escalation step", "step", s.Key, "err", rerr)
	}
}
