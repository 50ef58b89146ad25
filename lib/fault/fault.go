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
// in conflict, a matrix mismatch, a standby node); each binary documents
// what it means for it and returns it with WithCode.
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

// KindOf returns the kind of the first *Error in err's chain, or Unknown.
func KindOf(err error) Kind {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
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
		case *codeError:
			if x.hint != "" {
				return x.hint
			}
		}
	}
	return table[KindOf(err)].hint
}

// Code returns the exit code for err: 0 for nil, the code given to WithCode,
// or the table's code for err's kind.
func Code(err error) int {
	if err == nil {
		return ExitOK
	}
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	if e, ok := table[KindOf(err)]; ok {
		return e.code
	}
	return ExitFailure
}

type codeError struct {
	code int
	err  error
	hint string
}

func (e *codeError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *codeError) Unwrap() error { return e.err }

// WithCode makes err exit with a binary-specific code. A nil err gives a
// silent exit: the code is set and nothing is printed (for example "findings
// present" after the findings went to stdout).
func WithCode(code int, err error) error { return &codeError{code: code, err: err} }

// WithHint attaches a hint line to err.
func WithHint(err error, hint string) error {
	var fe *Error
	if errors.As(err, &fe) {
		cp := *fe
		cp.Hint = hint
		return &cp
	}
	return &codeError{code: Code(err), err: err, hint: hint}
}

// Silent reports whether err carries an exit code but nothing to print.
func Silent(err error) bool {
	var ce *codeError
	return errors.As(err, &ce) && ce.err == nil
}

// Usagef returns a usage error (exit 2).
func Usagef(format string, args ...any) error { return Errorf(Usage, format, args...) }
