// Package hcldiag turns the problems found in vaultpipe's HCL files — HCL's
// own diagnostics and the checks made after parsing — into bad-input errors,
// each naming file:line:col.
package hcldiag

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

// Errorf is a bad-input error that names file:line:col; a zero pos names
// the file alone.
func Errorf(file string, pos hcl.Pos, format string, args ...any) error {
	return &fault.Error{Kind: fault.BadInput, Err: fmt.Errorf("%s: %s", Where(file, pos), fmt.Sprintf(format, args...))}
}

// Where is file:line:col, or file when pos is zero.
func Where(file string, pos hcl.Pos) string {
	if pos.Line <= 0 {
		return file
	}
	return fmt.Sprintf("%s:%d:%d", file, pos.Line, pos.Column)
}

// List gathers the problems of one file, so that all of them are reported
// at once.
type List struct {
	File string
	errs []error
}

// Addf records a problem at pos.
func (l *List) Addf(pos hcl.Pos, format string, args ...any) {
	l.errs = append(l.errs, Errorf(l.File, pos, format, args...))
}

// Add records err, which should already name its place.
func (l *List) Add(err error) { l.errs = append(l.errs, err) }

// Len is the number of problems recorded.
func (l *List) Len() int { return len(l.errs) }

// Err is one bad-input error with a line per problem, or nil.
func (l *List) Err() error { return Join(l.errs) }

// Join is one bad-input error with a line per error of errs, or nil.
func Join(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return &fault.Error{Kind: fault.BadInput, Err: errors.Join(errs...)}
}

// Diagnostics turns HCL's error diagnostics into one bad-input error, a
// line per diagnostic, each starting with file:line:col.
func Diagnostics(diags hcl.Diagnostics) error {
	var errs []error
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if msg != "" {
			msg = strings.ToLower(msg[:1]) + msg[1:]
		}
		if d.Detail != "" {
			msg += ": " + strings.TrimSuffix(d.Detail, ".")
		}
		if d.Subject != nil {
			msg = Where(d.Subject.Filename, d.Subject.Start) + ": " + msg
		}
		errs = append(errs, errors.New(msg))
	}
	return Join(errs)
}

// SortedAttrs gives a body's attributes in the order they are written.
func SortedAttrs(m hclsyntax.Attributes) []*hclsyntax.Attribute {
	out := make([]*hclsyntax.Attribute, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SrcRange.Start.Byte < out[j].SrcRange.Start.Byte })
	return out
}
