package email

import (
	"bufio"
	"context"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/tocsin-dev/tocsin/internal/notify"
)

func TestServerRepliesAreClassified(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rcpt, data *smtp.SMTPError
		want       string
		says       string
	}{
		{"550 to RCPT (no such mailbox) is permanent",
			&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}, nil, "permanent", "550"},
		{"553 to RCPT (mailbox name not allowed) is permanent",
			&smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad address"}, nil, "permanent", "553"},
		{"554 to DATA (rejected as spam) is permanent",
			nil, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message rejected"}, "permanent", "554"},
		{"450 to RCPT (mailbox busy, greylisting) is temporary",
			&smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "Try again later"}, nil, "temporary", "450"},
		{"452 to DATA (out of storage) is temporary",
			nil, &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "Insufficient storage"}, "temporary", "452"},
		{"451 to DATA (local error) is temporary",
			nil, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local error"}, "temporary", "451"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, serverOptions{RcptReply: tc.rcpt, DataReply: tc.data})
			c := newChannel(t, srv, srv.url("", ""), Options{})
			_, err := send(t, c, opsgenieMessage("dave@example.com"))
			if got := outcome(err); got != tc.want {
				t.Fatalf("Send = %v (%s), want %s", err, got, tc.want)
			}
			if !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "dave@example.com") {
				t.Errorf("error %q should quote the reply and name the recipient", err)
			}
			// The connection is dropped after an error; the next Send works on a new one.
			srv.setReplies(nil, nil)
			if _, err := send(t, c, opsgenieMessage("dave@example.com")); err != nil {
				t.Fatalf("the next Send = %v", err)
			}
			if got := srv.connections(); got != 2 {
				t.Errorf("the server saw %d connections, want 2", got)
			}
		})
	}
}

func TestAServerThatIsDownIsATemporaryErrorAndNoPageIsLostWhenItComesBack(t *testing.T) {
	srv := newTestServer(t, serverOptions{StartTLS: true})
	c := newChannel(t, srv, srv.url("", ""), Options{})
	if _, err := send(t, c, opsgenieMessage("dave@example.com")); err != nil {
		t.Fatal(err)
	}
	srv.stop()
	page := securityHubMessage("carol@example.com")
	_, err := send(t, c, page)
	if outcome(err) != "temporary" {
		t.Fatalf("Send while the server is down = %v, want a temporary error", err)
	}
	if !strings.Contains(err.Error(), srv.addr) {
		t.Errorf("error %q does not name the server", err)
	}
	srv.start()
	// The caller retries a temporary error; the retry goes through.
	if _, err := send(t, c, page); err != nil {
		t.Fatalf("Send after the server came back = %v", err)
	}
	msgs := srv.messages()
	if len(msgs) != 2 || msgs[1].To[0] != "carol@example.com" {
		t.Fatalf("the server has %d messages, want the first page and the retried one", len(msgs))
	}
}

// hangingServer accepts connections and never says anything.
func hangingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-done; _ = conn.Close() }()
		}
	}()
	return ln.Addr().String()
}

func TestAServerThatDoesNotAnswerTimesOutAsATemporaryError(t *testing.T) {
	addr := hangingServer(t)
	c := newChannel(t, nil, "smtp://"+addr, Options{Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := send(t, c, opsgenieMessage("dave@example.com"))
	if outcome(err) != "temporary" {
		t.Fatalf("Send = %v, want a temporary error", err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("Send took %s with a Timeout of 200ms", d)
	}
}

func TestCancellingTheContextEndsASendThatIsWaitingForTheServer(t *testing.T) {
	addr := hangingServer(t)
	c := newChannel(t, nil, "smtp://"+addr, Options{Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Send(ctx, opsgenieMessage("dave@example.com"))
	if outcome(err) != "temporary" || !strings.Contains(err.Error(), context.Canceled.Error()) {
		t.Fatalf("Send = %v, want a temporary error saying the context was cancelled", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Send took %s after the context was cancelled", d)
	}
}

// scripted configures scriptedServer.
type scripted struct {
	// closeAfter: after this many messages on a connection (0: never) the server answers the next
	// MAIL with 421 and hangs up, as a server going away does.
	closeAfter int
	// no8BitMIME leaves 8BITMIME out of the EHLO reply, which go-smtp's server always offers.
	no8BitMIME bool
	// chunking offers PIPELINING and CHUNKING, and takes BDAT.
	chunking bool
	// refuseRcpt answers RCPT with 550.
	refuseRcpt bool
}

// scriptedServer speaks just enough SMTP to accept messages and logs the commands it gets, for
// behaviour go-smtp's server cannot be made to show (see scripted). data returns the messages.
func scriptedServer(t *testing.T, opts scripted) (addr string, data func() []string, commands func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var mu sync.Mutex
	var cmds, msgs []string
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
				r := bufio.NewReader(conn)
				say := func(s string) { _, _ = conn.Write([]byte(s + "\r\n")) }
				say("220 scripted ESMTP")
				here := 0
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					cmd := strings.ToUpper(strings.Fields(line + " x")[0])
					mu.Lock()
					cmds = append(cmds, cmd)
					mu.Unlock()
					switch cmd {
					case "EHLO":
						caps := "250-scripted"
						if !opts.no8BitMIME {
							caps += "\r\n250-8BITMIME"
						}
						if opts.chunking {
							caps += "\r\n250-PIPELINING\r\n250-CHUNKING"
						}
						say(caps + "\r\n250 SIZE")
					case "RCPT":
						if opts.refuseRcpt {
							say("550 5.1.1 no such user")
						} else {
							say("250 ok")
						}
					case "BDAT":
						f := strings.Fields(line)
						size, err := strconv.Atoi(f[1])
						if err != nil || len(f) != 3 || f[2] != "LAST" {
							t.Errorf("BDAT command %q", line)
							return
						}
						chunk := make([]byte, size)
						if _, err := io.ReadFull(r, chunk); err != nil {
							return
						}
						if opts.refuseRcpt {
							say("554 5.5.1 no valid recipients")
							continue
						}
						mu.Lock()
						msgs = append(msgs, string(chunk))
						mu.Unlock()
						here++
						say("250 2.0.0 Ok: queued as SCRIPTED" + strconv.Itoa(here))
					case "MAIL":
						if opts.closeAfter > 0 && here == opts.closeAfter {
							say("421 4.3.0 going away")
							return
						}
						say("250 ok")
					case "DATA":
						say("354 go ahead")
						var msg strings.Builder
						for {
							l, err := r.ReadString('\n')
							if err != nil {
								return
							}
							if l == ".\r\n" {
								break
							}
							msg.WriteString(strings.TrimPrefix(l, "."))
						}
						mu.Lock()
						msgs = append(msgs, msg.String())
						mu.Unlock()
						here++
						say("250 2.0.0 Ok: queued as SCRIPTED" + strconv.Itoa(here))
					case "QUIT":
						say("221 bye")
						return
					default:
						say("250 ok")
					}
				}
			}()
		}
	}()
	return ln.Addr().String(),
		func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(msgs) },
		func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(cmds) }
}

func TestBackToBackMessagesOnOneConnectionAreMailRcptDataWithoutResetOrNoop(t *testing.T) {
	addr, data, commands := scriptedServer(t, scripted{})
	c := newChannel(t, nil, "smtp://"+addr, Options{MaxConns: 1})
	for i := range 3 {
		rec, err := send(t, c, opsgenieMessage("dave@example.com"))
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		if want := "SCRIPTED" + strconv.Itoa(i+1); rec.ProviderID != want {
			t.Errorf("message %d: receipt %+v, want the queue id %s", i+1, rec, want)
		}
	}
	want := []string{"EHLO", "MAIL", "RCPT", "DATA", "MAIL", "RCPT", "DATA", "MAIL", "RCPT", "DATA"}
	if got := commands(); !slices.Equal(got, want) || len(data()) != 3 {
		t.Errorf("the server got %v and accepted %d, want %v and 3", got, len(data()), want)
	}
}

func TestAServerWithPipeliningAndChunkingGetsEachMessageInOneBDATChunk(t *testing.T) {
	addr, data, commands := scriptedServer(t, scripted{chunking: true})
	c := newChannel(t, nil, "smtp://"+addr, Options{MaxConns: 1})
	m := opsgenieMessage("dave@example.com")
	m.Alert.Description = ".a line that starts with a dot\nand one that does not"
	for i := range 2 {
		rec, err := send(t, c, m)
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		if want := "SCRIPTED" + strconv.Itoa(i+1); rec.ProviderID != want {
			t.Errorf("message %d: receipt %+v, want the queue id %s", i+1, rec, want)
		}
	}
	want := []string{"EHLO", "MAIL", "RCPT", "BDAT", "MAIL", "RCPT", "BDAT"}
	if got := commands(); !slices.Equal(got, want) {
		t.Errorf("the server got %v, want %v", got, want)
	}
	got := data()
	if len(got) != 2 {
		t.Fatalf("%d messages", len(got))
	}
	if strings.Contains(strings.ReplaceAll(got[0], "\r\n", ""), "\n") {
		t.Error("the chunk has a bare LF: BDAT takes the message as it is, so its lines must end in CRLF")
	}
	_, parts := parseMessage(t, []byte(got[0]))
	r, _ := c.Render(m)
	for _, p := range parts {
		if p.contentType == "text/plain" && strings.ReplaceAll(p.body, "\r\n", "\n") != r.Text {
			t.Errorf("the text part arrived as\n%q\nwant\n%q", p.body, r.Text)
		}
	}
}

func TestARefusedRecipientInAPipelinedChunkIsAPermanentError(t *testing.T) {
	addr, data, _ := scriptedServer(t, scripted{chunking: true, refuseRcpt: true})
	c := newChannel(t, nil, "smtp://"+addr, Options{})
	_, err := send(t, c, opsgenieMessage("dave@example.com"))
	if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "550") {
		t.Fatalf("Send = %v, want a permanent error naming the 550", err)
	}
	if len(data()) != 0 {
		t.Errorf("the server took %d messages", len(data()))
	}
}

func TestAConnectionTheServerClosesAfterAMessageIsReplacedWithoutLosingOrRepeatingTheNext(t *testing.T) {
	addr, data, commands := scriptedServer(t, scripted{closeAfter: 1})
	c := newChannel(t, nil, "smtp://"+addr, Options{MaxConns: 1})
	for i := range 2 {
		rec, err := send(t, c, opsgenieMessage("dave@example.com"))
		if err != nil {
			t.Fatalf("message %d = %v, want sent: a new connection takes it", i+1, err)
		}
		if rec.ProviderID != "SCRIPTED1" {
			t.Errorf("message %d: receipt %+v, want the first message of its connection", i+1, rec)
		}
	}
	if len(data()) != 2 {
		t.Errorf("the server accepted %d messages, want 2; commands %v", len(data()), commands())
	}
}
