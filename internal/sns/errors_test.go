package sns_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/sns"
)

func TestHTTPStatusTellsSNSWhetherToRetry(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, http.StatusOK},
		{sns.ErrMalformed, http.StatusBadRequest},
		{fmt.Errorf("%w: missing Token", sns.ErrMalformed), http.StatusBadRequest},
		{sns.ErrRawDelivery, http.StatusBadRequest},
		{sns.ErrUntrustedURL, http.StatusForbidden},
		{sns.ErrBadSignature, http.StatusForbidden},
		{sns.ErrBadCertificate, http.StatusForbidden},
		{fmt.Errorf("%w: timeout: %w", sns.ErrUnavailable, context.DeadlineExceeded), http.StatusServiceUnavailable},
		{sns.ErrConfirmRefused, http.StatusBadGateway},
		{errors.New("database is down"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			if got := sns.HTTPStatus(tt.err); got != tt.want {
				t.Fatalf("HTTPStatus = %d, want %d", got, tt.want)
			}
		})
	}
}
