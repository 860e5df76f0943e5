package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
)

// liveFeed tells open alert lists that alerts changed, as server-sent events. One poller per process
// looks at the most recently updated alert once a second while anyone is watching; reading the
// database, rather than hooking into this process's changes, also sees changes made by other
// replicas, by the job queue and by the intake.
type liveFeed struct {
	alerts *alert.Service
	log    *slog.Logger

	mu      sync.Mutex
	subs    map[chan string]struct{}
	running bool
	stop    chan struct{}
	once    sync.Once
}

func newLiveFeed(alerts *alert.Service, log *slog.Logger) *liveFeed {
	return &liveFeed{alerts: alerts, log: log, subs: map[chan string]struct{}{}, stop: make(chan struct{})}
}

func (f *liveFeed) close() { f.once.Do(func() { close(f.stop) }) }

func (f *liveFeed) subscribe() (chan string, func()) {
	ch := make(chan string, 1)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	if !f.running {
		f.running = true
		go f.poll()
	}
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}
}

// pollEvery is how often the feed looks for changes while someone watches.
const pollEvery = time.Second

func (f *liveFeed) poll() {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	last := ""
	for {
		marker, err := f.marker()
		if err != nil {
			f.log.Warn("web: live feed", "err", err)
		} else if marker != last {
			if last != "" {
				f.broadcast(marker)
			}
			last = marker
		}
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		f.mu.Lock()
		if len(f.subs) == 0 {
			f.running = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
	}
}

// marker changes whenever an alert is created or changed.
func (f *liveFeed) marker() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := f.alerts.List(ctx, alert.ListOptions{Limit: 1, Sort: alert.SortUpdatedAt, Order: alert.Desc})
	if err != nil || len(list) == 0 {
		return "none", err
	}
	return fmt.Sprintf("%s@%d", list[0].ID, list[0].UpdatedAt.UnixNano()), nil
}

func (f *liveFeed) broadcast(marker string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- marker:
		default: // that client has an event pending already; one is enough to make it reload
		}
	}
}

// events streams "alert" events to a browser (htmx's sse extension) until it goes away.
func (s *Server) events(w http.ResponseWriter, r *http.Request, _ *viewer) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ch, done := s.live.subscribe()
	defer done()
	heartbeat := time.NewTicker(20 * time.Second)
	defer heartbeat.Stop()
	write := func(msg string) bool {
		// The server's WriteTimeout would end the stream; each write gets its own deadline instead.
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprint(w, msg); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// An event at once: whatever changed between rendering the page and this (re)connection, a phone
	// waking up for example, shows without waiting for the next change.
	if !write(": connected\nevent: alert\ndata: connect\n\n") {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.live.stop:
			return
		case m := <-ch:
			if !write("event: alert\ndata: " + m + "\n\n") {
				return
			}
		case <-heartbeat.C:
			if !write(": keep-alive\n\n") {
				return
			}
		}
	}
}
