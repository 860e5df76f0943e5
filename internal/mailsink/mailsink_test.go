package mailsink_test

import (
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/mailsink"
)

func send(addr, to, subject string) error {
	msg := "From: a@example.com\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n\r\nhello\r\n"
	return smtp.SendMail(addr, nil, "a@example.com", []string{to}, []byte(msg))
}

func TestTheSinkKeepsMessagesRefusesOnRequestAndComesBackOnTheSameAddress(t *testing.T) {
	s, err := mailsink.Start(mailsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := send(s.Addr(), "alice@example.com", "one"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Wait(1, time.Second, mailsink.To("alice@example.com"))
	if err != nil || got[0].Header.Get("Subject") != "one" {
		t.Fatalf("Wait = %+v, %v", got, err)
	}
	s.Refuse(true)
	if err := send(s.Addr(), "bob@example.com", "two"); err == nil || !strings.Contains(err.Error(), "451") {
		t.Errorf("send while refusing = %v, want a 451", err)
	}
	s.Refuse(false)
	addr := s.Addr()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := send(addr, "bob@example.com", "three"); err == nil {
		t.Error("a stopped sink accepted mail")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := send(addr, "bob@example.com", "four"); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if n := len(s.Messages()); n != 2 {
		t.Errorf("%d messages kept, want 2", n)
	}
}

func TestADiscardingSinkHandsOnEachHeaderAndKeepsNothing(t *testing.T) {
	got := make(chan mailsink.Message, 4)
	s, err := mailsink.Start(mailsink.Options{Discard: true, OnMessage: func(m mailsink.Message) { got <- m }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, subject := range []string{"one", "two"} {
		if err := send(s.Addr(), "alice@example.com", subject); err != nil {
			t.Fatal(err)
		}
		m := <-got
		if m.Header.Get("Subject") != subject || m.Data != nil || len(m.To) != 1 || m.To[0] != "alice@example.com" || m.ReceivedAt.IsZero() {
			t.Errorf("OnMessage got %+v, want the header of %q, its recipient and no body", m, subject)
		}
	}
	s.Refuse(true)
	if err := send(s.Addr(), "bob@example.com", "three"); err == nil || !strings.Contains(err.Error(), "451") {
		t.Errorf("send while refusing = %v, want a 451", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages kept, want none", n)
	}
}
