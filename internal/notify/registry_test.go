package notify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// recorder is a Channel that remembers what it was asked to send.
type recorder struct {
	method string
	mu     sync.Mutex
	got    []Message
}

func (r *recorder) Method() string { return r.method }

func (r *recorder) Send(_ context.Context, m Message) (Receipt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, m)
	return Receipt{ProviderID: r.method + "-1"}, nil
}

func TestTheRegistryHandsAMessageToTheChannelOfItsContactMethod(t *testing.T) {
	email, hook := &recorder{method: MethodEmail}, &recorder{method: MethodWebhook}
	r, err := NewRegistry(email, hook)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := r.Send(context.Background(), Message{Contact: Contact{Method: MethodWebhook, To: "https://example.com/hook"}})
	if err != nil || rc.ProviderID != "webhook-1" {
		t.Fatalf("Send = %+v, %v", rc, err)
	}
	if len(hook.got) != 1 || len(email.got) != 0 {
		t.Fatalf("webhook got %d, email got %d; want 1 and 0", len(hook.got), len(email.got))
	}
	if c, ok := r.Channel(MethodEmail); !ok || c != email {
		t.Fatal("Channel(email) did not return the email channel")
	}
	if got := r.Methods(); !slices.Equal(got, []string{"email", "webhook"}) {
		t.Fatalf("Methods = %v", got)
	}
}

func TestAMethodWithoutAChannelIsAPermanentError(t *testing.T) {
	r, err := NewRegistry(&recorder{method: MethodEmail})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Send(context.Background(), Message{Contact: Contact{Method: MethodSMS, To: "+4915112345678"}})
	if !errors.Is(err, ErrNoChannel) || !IsPermanent(err) {
		t.Fatalf("Send to sms = %v, want a permanent ErrNoChannel", err)
	}
	if !strings.Contains(err.Error(), `"sms"`) {
		t.Fatalf("error %q does not name the method", err)
	}
	if _, ok := r.Channel(MethodSMS); ok {
		t.Fatal("Channel(sms) found a channel")
	}
}

func TestARegistryRefusesDuplicateEmptyAndNilChannels(t *testing.T) {
	tests := map[string][]Channel{
		"duplicate": {&recorder{method: "email"}, &recorder{method: "email"}},
		"empty":     {&recorder{method: ""}},
		"nil":       {nil},
	}
	for name, channels := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := NewRegistry(channels...); err == nil {
				t.Fatal("NewRegistry accepted it")
			}
		})
	}
}

func TestAnEmptyRegistryHasNoMethods(t *testing.T) {
	r, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Methods()) != 0 {
		t.Fatalf("Methods = %v", r.Methods())
	}
}
