package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/notify"
)

// recorder is a channel that keeps what it was asked to send.
type recorder struct {
	method string
	got    []notify.Message
	err    error
}

func (r *recorder) Method() string { return r.method }
func (r *recorder) Send(_ context.Context, m notify.Message) (notify.Receipt, error) {
	r.got = append(r.got, m)
	return notify.Receipt{ProviderID: "id-1", Detail: "accepted"}, r.err
}

func TestATestNotificationGoesToEveryContactAndReportsEachOutcome(t *testing.T) {
	mail := &recorder{method: notify.MethodEmail}
	hook := &recorder{method: notify.MethodWebhook, err: errors.New("HTTP 500")}
	reg, err := notify.NewRegistry(mail, hook)
	if err != nil {
		t.Fatal(err)
	}
	contacts := []notify.Contact{
		{Method: notify.MethodEmail, To: "alice@example.com"},
		{Method: notify.MethodWebhook, To: "https://hooks.example.com/x"},
		{Method: notify.MethodSMS, To: "+4915112345678"},
	}
	res := notify.SendTest(context.Background(), reg, notify.Person{Username: "alice@example.com"}, contacts, time.Second)
	if len(res) != 3 {
		t.Fatalf("%d results, want 3", len(res))
	}
	if res[0].Err != nil || res[0].Receipt.ProviderID != "id-1" {
		t.Errorf("email: %+v", res[0])
	}
	if res[1].Err == nil || notify.IsPermanent(res[1].Err) {
		t.Errorf("webhook: %v, want the channel's temporary error", res[1].Err)
	}
	if !errors.Is(res[2].Err, notify.ErrNoChannel) {
		t.Errorf("sms: %v, want ErrNoChannel", res[2].Err)
	}
	if len(mail.got) != 1 || !mail.got[0].Test || mail.got[0].Contact.To != "alice@example.com" {
		t.Errorf("the email channel got %+v, want one message marked Test", mail.got)
	}
}
