package command

import (
	"context"
	"fmt"
	"io"
	"reflect"

	"github.com/alecthomas/kong"

	"github.com/vaultpipe/vaultpipe/lib/jsonout"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// Env is what every Run method is given: the context (cancelled by the
// first Ctrl-C), stdio, and the Vault client of the command's connection
// flags, built on first use.
type Env struct {
	Name   string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	ctx    context.Context
	vault  *vaultFlags
	client *vaultclient.Client
	keep   bool
}

// Context is the run's context.
func (e *Env) Context() context.Context { return e.ctx }

// Warnf writes "name: warning: …" to stderr.
func (e *Env) Warnf(format string, args ...any) {
	fmt.Fprintf(e.Stderr, "%s: warning: %s\n", e.Name, fmt.Sprintf(format, args...))
}

// Vault returns the client of the selected command's connection and
// authentication flags (the innermost vaultclient.Flags, Conn or Auth of
// the grammar on the command's path), building and authenticating it on
// the first call. Run returns before it is closed: a token it logged in
// for is revoked then. opts apply to the first call only.
func (e *Env) Vault(opts ...vaultclient.Options) (*vaultclient.Client, error) {
	if e.client != nil {
		return e.client, nil
	}
	if e.vault == nil {
		return nil, fmt.Errorf("%s: this command has no Vault connection flags", e.Name)
	}
	var o vaultclient.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Warnf == nil {
		o.Warnf = e.Warnf
	}
	c, err := vaultclient.New(e.ctx, e.vault.flags(), o)
	if err != nil {
		return nil, err
	}
	e.client = c
	return c, nil
}

// KeepToken leaves the client's token alone at exit: after a forced
// restore it belongs to a keyring that is gone.
func (e *Env) KeepToken() { e.keep = true }

// close revokes the token of the client Vault built, if it logged in.
func (e *Env) close() {
	if e.client != nil && !e.keep {
		e.client.Close(context.WithoutCancel(e.ctx))
	}
}

// Answer writes doc to stdout as one JSON document, unless it is nil, and
// returns err, or the write's error when err is nil: the report of a run
// that failed half-way is still printed, and the first error wins.
func (e *Env) Answer(doc any, err error) error {
	if isNil(doc) {
		return err
	}
	if werr := jsonout.Write(e.Stdout, doc); werr != nil && err == nil {
		err = werr
	}
	return err
}

// Terminal reports whether stdout is a terminal (tables, not JSON).
func (e *Env) Terminal() bool { return IsTerminal(e.Stdout) }

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// vaultFlags points into the parsed grammar, so that a Run method may
// adjust its flags (vault-install's address) before the client is built.
type vaultFlags struct {
	conn *vaultclient.Conn
	auth *vaultclient.Auth
}

func (v *vaultFlags) flags() vaultclient.Flags {
	var f vaultclient.Flags
	if v.conn != nil {
		f.Conn = *v.conn
	}
	if v.auth != nil {
		f.Auth = *v.auth
	}
	return f
}

var (
	flagsType = reflect.TypeOf(vaultclient.Flags{})
	connType  = reflect.TypeOf(vaultclient.Conn{})
	authType  = reflect.TypeOf(vaultclient.Auth{})
)

// findVaultFlags finds the connection flags of the selected command: the
// innermost node on its path whose struct holds them.
func findVaultFlags(kctx *kong.Context) *vaultFlags {
	var found *vaultFlags
	for _, n := range selected(kctx) {
		if v := vaultFlagsIn(n.Target); v != nil {
			found = v
		}
	}
	return found
}

// selected returns the nodes of the selected command's path: the binary,
// then each command down to the one that runs.
func selected(kctx *kong.Context) []*kong.Node {
	var nodes []*kong.Node
	for _, p := range kctx.Path {
		switch {
		case p.App != nil:
			nodes = append(nodes, p.App.Node)
		case p.Command != nil:
			nodes = append(nodes, p.Command)
		}
	}
	return nodes
}

func vaultFlagsIn(v reflect.Value) *vaultFlags {
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	var out vaultFlags
	for i := 0; i < v.NumField(); i++ {
		f, ft := v.Field(i), v.Type().Field(i)
		if !ft.IsExported() && !ft.Anonymous {
			continue
		}
		switch ft.Type {
		case flagsType:
			fl := f.Addr().Interface().(*vaultclient.Flags)
			out.conn, out.auth = &fl.Conn, &fl.Auth
		case connType:
			out.conn = f.Addr().Interface().(*vaultclient.Conn)
		case authType:
			out.auth = f.Addr().Interface().(*vaultclient.Auth)
		default:
			// Embedded structs (a shared selection of flags) are part of
			// the command.
			if ft.Anonymous && ft.Type.Kind() == reflect.Struct {
				if in := vaultFlagsIn(f); in != nil {
					out = *in
				}
			}
		}
	}
	if out.conn == nil && out.auth == nil {
		return nil
	}
	return &out
}
