package notify_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tocsin-dev/tocsin/internal/notify"
)

// busyChannel always answers like a provider that asks for a pause.
type busyChannel struct{}

func (busyChannel) Method() string { return notify.MethodSMS }

func (busyChannel) Send(context.Context, notify.Message) (notify.Receipt, error) {
	return notify.Receipt{}, notify.Temporary(errors.New("sms: HTTP 429 Too Many Requests"), 30*time.Second)
}

// What a caller (the notification job) does with the outcome of a Send.
func ExampleRegistry_Send() {
	registry, err := notify.NewRegistry(busyChannel{})
	if err != nil {
		panic(err)
	}
	for _, method := range []string{notify.MethodSMS, notify.MethodVoice} {
		_, err := registry.Send(context.Background(), notify.Message{Contact: notify.Contact{Method: method, To: "+4915112345678"}})
		switch after, hinted := notify.RetryAfter(err); {
		case err == nil:
			fmt.Println("sent")
		case notify.IsPermanent(err):
			fmt.Println("failed for good:", err)
		case hinted:
			fmt.Println("retry in", after, "after:", err)
		default:
			fmt.Println("retry with backoff after:", err)
		}
	}
	// Output:
	// retry in 30s after: sms: HTTP 429 Too Many Requests
	// failed for good: notify: no channel for this contact method: "voice"
}
