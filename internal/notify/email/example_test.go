package email_test

import (
	"fmt"

	"github.com/tocsin-dev/tocsin/internal/notify"
	"github.com/tocsin-dev/tocsin/internal/notify/email"
)

// A Config prints without its password, so it can go into logs and error messages.
func ExampleParseURL() {
	for _, raw := range []string{
		"smtp://alerts%40example.com:s3cret@smtp.example.com",
		"smtps://alerts:s3cret@smtp.example.com",
		"smtp://relay.internal",
		"smtp://alerts:s3cret@smtp.example.com?tls=none",
	} {
		cfg, err := email.ParseURL(raw)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(cfg)
	}
	// Output:
	// smtp://alerts%40example.com:REDACTED@smtp.example.com:587?tls=required
	// smtps://alerts:REDACTED@smtp.example.com:465
	// smtp://relay.internal:25?tls=opportunistic
	// error: email: tls=none cannot be used with a user: credentials are only sent over TLS (use tls=required, or smtps://)
}

// Render shows an email without sending it; New connects to nothing.
func ExampleChannel_Render() {
	channel, err := email.New(email.Options{
		URL:  "smtp://alerts:s3cret@smtp.example.com",
		From: "tocsin <tocsin@example.com>",
	})
	if err != nil {
		panic(err)
	}
	defer channel.Close()
	r, err := channel.Render(notify.Message{
		Alert: notify.Alert{
			ID:          "8f1c2b9e-0d4f-4a53-9b6e-2f1f3c5d7a10",
			Message:     "EC2 instance i-0abc is communicating with a known C&C server",
			Priority:    "P2",
			Source:      "GuardDuty",
			Details:     map[string]string{"AwsAccountId": "123456789012", "Region": "eu-central-1"},
			Integration: notify.Integration{Type: "amazonsecurityhub"},
		},
		Step:      2,
		Round:     1,
		Recipient: notify.Person{Username: "carol@example.com"},
		Contact:   notify.Contact{Method: notify.MethodEmail, To: "carol@example.com"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Subject)
	fmt.Println(r.References)
	// Output:
	// [P2] GuardDuty: EC2 instance i-0abc is communicating with a known C&C server (123456789012 eu-central-1)
	// <alert-8f1c2b9e-0d4f-4a53-9b6e-2f1f3c5d7a10@example.com>
}
