package oncall

import (
	"errors"
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration. Path locates it with the JSON/YAML keys and list
// indexes a person wrote (schedules[0].rotations[1].participants[2]), so that a report of many problems
// can be fixed without guessing which of several similar entries is meant.
type Problem struct {
	Path string `json:"path"`
	Msg  string `json:"message"`
}

// Error returns "path: msg", or msg alone when the problem is about the whole value.
func (p Problem) Error() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// Problems is every problem found in one validation. Validation does not stop at the first problem,
// because `tocsin apply` must tell an operator everything that is wrong in one run.
type Problems []Problem

// Error lists the problems one per line, the form a CLI prints.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each problem to errors.Is and errors.As.
func (ps Problems) Unwrap() []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errs
}

// problems collects Problems while a validation walks a value.
type problems struct{ list Problems }

func (c *problems) add(path, format string, args ...any) {
	c.list = append(c.list, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// addAll adds the problems of a nested value's validation under prefix.
func (c *problems) addAll(prefix string, err error) {
	if err == nil {
		return
	}
	var ps Problems
	var p Problem
	switch {
	case errors.As(err, &ps):
		for _, q := range ps {
			c.list = append(c.list, Problem{Path: joinPath(prefix, q.Path), Msg: q.Msg})
		}
	case errors.As(err, &p):
		c.list = append(c.list, Problem{Path: joinPath(prefix, p.Path), Msg: p.Msg})
	default:
		c.list = append(c.list, Problem{Path: prefix, Msg: err.Error()})
	}
}

// err returns nil when nothing was found. It never returns a typed nil inside a non-nil error, which
// would make `err != nil` true for a valid value.
func (c *problems) err() error {
	if len(c.list) == 0 {
		return nil
	}
	return c.list
}

func joinPath(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	}
	return prefix + "." + path
}

// elem is the path of the i-th element of a list: elem("rotations", 1) is "rotations[1]".
func elem(list string, i int) string {
	return fmt.Sprintf("%s[%d]", list, i)
}
