// Package fault holds vaultpipe's typed errors and the one table that maps
// each kind of failure to an exit code, a message prefix and a hint.
//
// Code anywhere in vaultpipe returns a *fault.Error (usually built by
// lib/vaultclient from a Vault response); lib/command turns it into the
// process exit status and the "name: error: …" / "name: hint: …" lines.
package fault

import (
	"errors"
	"fmt"
)

// Exit codes shared by every vaultpipe binary, so that a script can tell a
// sealed Vault from a bad token whichever tool it ran. ExitAttention means
// the command worked and its answer needs attention (findings present, keys
// in conflict, a matrix mismatch, a standby node). Binaries never pick a
// code: they return an error of a Kind, and the table below gives the code.
const (
	ExitOK            = 0
	ExitFailure       = 1
	ExitUsage         = 2
	ExitAttention     = 3
	ExitSealed        = 4
	ExitUninitialized = 5
	ExitDenied        = 6
)

// Kind classifies a failure.
type Kind string

const (
	Unknown       Kind = ""
	Unreachable   Kind = "unreachable"   // no connection to Vault (refused, timeout, DNS)
	TLS           Kind = "tls"           // the TLS handshake failed (untrusted CA, wrong name)
	Sealed        Kind = "sealed"        // Vault answered 503 "Vault is sealed"
	Uninitialized Kind = "uninitialized" // Vault answered 501 "Vault is not initialized"
	Denied        Kind = "denied"        // 403: bad or expired token, or the policy forbids it
	NotFound      Kind = "not_found"     // 404, or a KV path with no (live) version
	Conflict      Kind = "conflict"      // check-and-set mismatch: someone else wrote first
	BadRequest    Kind = "bad_request"   // 400 other than a CAS mismatch
	Server        Kind = "server"        // 5xx after retries
	Usage         Kind = "usage"         // bad flags or arguments
	BadInput      Kind = "bad_input"     // malformed input file or stream

	// The attention kinds (exit 3): the command did its job and the answer
	// needs a human.
	Findings  Kind = "findings"   // a scan or lint found something to act on
	Contested Kind = "contested"  // some writes lost a check-and-set race; the others were made
	Mismatch  Kind = "mismatch"   // live state differs from what is declared
	Standby   Kind = "standby"    // the node is a raft standby, not the active node
	NeedsRoot Kind = "needs_root" // the next step needs the root token (or a quorum to make one)
)

// Error is a classified failure. Op says what was being done ("reading
// secret"), Path the Vault path or file concerned; neither ever holds a
// secret value.
type Error struct {
	Kind Kind
	Op   string
	Path string
	Err  error
	// Hint overrides the table's hint when set.
	Hint string
	// Quiet errors set the exit code and print nothing: the answer already
	// went to stdout (for example "findings present").
	Quiet bool
}

func (e *Error) Error() string {
	msg := e.Op
	if e.Path != "" {
		if msg != "" {
			msg += " "
		}
		msg += e.Path
	}
	if e.Err != nil {
		if msg != "" {
			msg += ": "
		}
		msg += e.Err.Error()
	}
	if msg == "" {
		msg = string(e.Kind)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error of kind k.
func New(k Kind, op, path string, err error) *Error {
	return &Error{Kind: k, Op: op, Path: path, Err: err}
}

// Errorf returns an *Error of kind k with a formatted cause.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}

// Quietly returns an error of kind k that prints nothing: the exit code
// alone carries the answer.
func Quietly(k Kind) *Error { return &Error{Kind: k, Quiet: true} }

// Kinder is implemented by domain errors that carry their own kind (such
// as install.Pending), so that they need not be wrapped in an *Error.
type Kinder interface {
	error
	FaultKind() Kind
}

// KindOf returns the kind of the first *Error or Kinder in err's chain, or
// Unknown.
func KindOf(err error) Kind {
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch x := e.(type) {
		case *Error:
			return x.Kind
		case Kinder:
			return x.FaultKind()
		}
	}
	return Unknown
}

// Is reports whether err's chain holds an *Error of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

type entry struct {
	code int
	hint string
}

// table is the single place where failure kinds become exit codes and hints.
var table = map[Kind]entry{
	Unknown:       {ExitFailure, ""},
	Unreachable:   {ExitFailure, "check VAULT_ADDR and that the server is running (systemctl status vault)"},
	TLS:           {ExitFailure, "set VAULT_CACERT to the CA that signed the server certificate"},
	Sealed:        {ExitSealed, "unseal it with a threshold of key shares (vault-install unseal), then retry"},
	Uninitialized: {ExitUninitialized, "initialise it first (vault-install apply)"},
	Denied:        {ExitDenied, "check that the token is valid and that its policies grant this path"},
	NotFound:      {ExitFailure, "check the path and the mount name"},
	Conflict:      {ExitFailure, "another writer changed it first; re-run plan and apply again"},
	BadRequest:    {ExitFailure, ""},
	Server:        {ExitFailure, "see the Vault server log"},
	Usage:         {ExitUsage, "run with --help for usage"},
	BadInput:      {ExitFailure, ""},
	Findings:      {ExitAttention, ""},
	Contested:     {ExitAttention, "another writer changed those keys first; plan again and apply"},
	Mismatch:      {ExitAttention, ""},
	Standby:       {ExitAttention, "pass --standby-ok where a standby counts as healthy"},
	NeedsRoot:     {ExitAttention, "decrypt the root token into a 0600 file and pass it with --token-file"},
}

// Kinds returns every kind in the table, for tests and documentation.
func Kinds() []Kind {
	ks := make([]Kind, 0, len(table))
	for k := range table {
		ks = append(ks, k)
	}
	return ks
}

// ExitCode returns the exit code of kind k.
func ExitCode(k Kind) int {
	if e, ok := table[k]; ok {
		return e.code
	}
	return ExitFailure
}

// Hint returns the hint for err: the first one attached anywhere in its
// chain, else the table's hint for its kind, else "".
func Hint(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch x := e.(type) {
		case *Error:
			if x.Hint != "" {
				return x.Hint
			}
		case *hinted:
			return x.hint
		}
	}
	return table[KindOf(err)].hint
}

// Code returns the exit code for err: 0 for nil, else the table's code for
// err's kind.
func Code(err error) int {
	if err == nil {
		return ExitOK
	}
	return ExitCode(KindOf(err))
}

type hinted struct {
	err  error
	hint string
}

func (e *hinted) Error() string { return e.err.Error() }
func (e *hinted) Unwrap() error { return e.err }

// WithHint attaches a hint line to err; its kind and exit code are kept.
func WithHint(err error, hint string) error {
	var fe *Error
	if errors.As(err, &fe) && fe == err {
		cp := *fe
		cp.Hint = hint
		return &cp
	}
	return &hinted{err: err, hint: hint}
}

// Silent reports whether err carries an exit code but nothing to print.
func Silent(err error) bool {
	var fe *Error
	return errors.As(err, &fe) && fe.Quiet
}

// Usagef returns a usage error (exit 2).
func Usagef(format string, args ...any) error { return Errorf(Usage, format, args...) }
