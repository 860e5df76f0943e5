package sns_test

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/tocsin-dev/tocsin/internal/sns"
)

// An SNS intake handler: parse, verify, then act by type. Errors map to the status SNS needs to decide
// whether to retry.
func Example() {
	verifier, err := sns.NewVerifier(sns.Options{}) // AWS's SNS hosts, system roots
	if err != nil {
		panic(err)
	}
	http.HandleFunc("POST /sns", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		m, err := sns.Parse(body)
		if err == nil {
			err = verifier.Verify(r.Context(), m)
		}
		if err != nil {
			http.Error(w, err.Error(), sns.HTTPStatus(err))
			return
		}
		switch m.Type {
		case sns.TypeSubscriptionConfirmation:
			arn, err := verifier.Confirm(r.Context(), m)
			if err != nil {
				http.Error(w, err.Error(), sns.HTTPStatus(err))
				return
			}
			slog.Info("SNS subscription confirmed", "topic", m.TopicARN, "subscription", arn)
		case sns.TypeNotification:
			// m.Message is the EventBridge event; commit it before answering 2xx.
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
