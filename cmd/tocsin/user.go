package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tocsin-dev/tocsin/internal/apply"
	"github.com/tocsin-dev/tocsin/internal/escalation"
	"github.com/tocsin-dev/tocsin/internal/oncall"
	"github.com/tocsin-dev/tocsin/internal/signin"
	"github.com/tocsin-dev/tocsin/internal/store"
)

// userCmd is `tocsin user set-password USER`: how the first admin gets into the web UI.
func userCmd(ctx context.Context, args []string, stdin io.Reader, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "set-password" || strings.HasPrefix(args[1], "-") {
		return errors.New("usage: tocsin user set-password USERNAME [--role admin|user|readonly] [--full-name NAME]; the password is read from standard input (or TOCSIN_PASSWORD)")
	}
	username := args[1]
	fs, c := newFlags("user set-password", stderr)
	role := fs.String("role", "", "the user's role; a user who does not exist yet is made with this role (default admin)")
	fullName := fs.String("full-name", "", "the name to show, for a user made now")
	if err := parse(fs, args[2:]); err != nil {
		return err
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, c.database)
	if err != nil {
		return err
	}
	defer db.Close()

	u, err := db.OnCall().User(ctx, username)
	switch {
	case errors.Is(err, escalation.ErrNotConfigured):
		// A new user: made here, with the role given (admin by default, since this is how the first
		// admin comes to be); everything else about them is set later with tocsin apply or the UI.
		u = &oncall.User{Username: username, FullName: *fullName, Role: oncall.RoleAdmin}
		if *role != "" {
			u.Role = oncall.Role(*role)
		}
	case err != nil:
		return err
	case *role != "":
		u.Role = oncall.Role(*role)
	}
	if err := signin.NewService(db.SignIn(), signin.Options{}).SetPassword(ctx, username, password); err != nil {
		return err
	}
	doc, err := json.Marshal(u)
	if err != nil {
		return err
	}
	if _, err := apply.Put(ctx, db, store.KindUser, username, doc, time.Now()); err != nil {
		return fmt.Errorf("save user %s: %w", username, err)
	}
	fmt.Fprintf(stderr, "Password set for %s (role %s). Sign in at the server's base URL.\n", username, u.WithDefaults().Role)
	return nil
}

// readPassword takes TOCSIN_PASSWORD, or the first line of stdin.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if p, ok := os.LookupEnv("TOCSIN_PASSWORD"); ok {
		return p, nil
	}
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(stderr, "Password (it is shown as you type; pipe it in to avoid that): ")
		}
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password given on standard input")
	}
	return line, nil
}
