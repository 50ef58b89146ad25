package vaultclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

// Classify turns an error from the Vault API into a *fault.Error whose Kind
// says what went wrong. op ("reading secret") and path name what was being
// done; a nil err gives nil, and an already classified error is kept.
func Classify(err error, op, path string) error {
	if err == nil {
		return nil
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	kind, cause := classify(err)
	return &fault.Error{Kind: kind, Op: op, Path: path, Err: cause}
}

// Classify is like the package-level Classify, and tells an uninitialised
// server (which answers every request as sealed) from a sealed one by asking
// sys/init.
func (c *Client) Classify(err error, op, path string) error {
	err = Classify(err, op, path)
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != fault.Sealed {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if inited, ierr := c.Sys().InitStatusWithContext(ctx); ierr == nil && !inited {
		cp := *fe
		cp.Kind, cp.Err = fault.Uninitialized, errors.New("vault is not initialized")
		return &cp
	}
	return err
}

func classify(err error) (fault.Kind, error) {
	var re *api.ResponseError
	if errors.As(err, &re) {
		msg := strings.Join(re.Errors, "; ")
		if re.RawError || msg == "" {
			msg = http.StatusText(re.StatusCode)
		}
		msg = strings.TrimSpace(strings.ReplaceAll(msg, "\n", " "))
		lower := strings.ToLower(msg)
		if re.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(strings.Join(re.Errors, " ")), "http request to an https server") {
			// Go's TLS listener answers plain http with this 400.
			return fault.Usage, fault.WithHint(errors.New("the server speaks https on this port, and the address says http"),
				"use https:// in VAULT_ADDR (or --address)")
		}
		switch {
		case re.StatusCode == http.StatusServiceUnavailable && strings.Contains(lower, "sealed"):
			return fault.Sealed, errors.New("vault is sealed")
		case re.StatusCode == http.StatusNotImplemented || strings.Contains(lower, "not initialized"):
			return fault.Uninitialized, errors.New("vault is not initialized")
		case re.StatusCode == http.StatusForbidden:
			return fault.Denied, errors.New("permission denied")
		case re.StatusCode == http.StatusNotFound:
			return fault.NotFound, errors.New("not found")
		case re.StatusCode == http.StatusBadRequest && strings.Contains(lower, "check-and-set"):
			return fault.Conflict, fmt.Errorf("check-and-set conflict: %s", msg)
		case re.StatusCode == http.StatusBadRequest:
			return fault.BadRequest, fmt.Errorf("bad request: %s", msg)
		case re.StatusCode >= 500:
			return fault.Server, fmt.Errorf("server error %d: %s", re.StatusCode, msg)
		default:
			return fault.Unknown, fmt.Errorf("unexpected status %d: %s", re.StatusCode, msg)
		}
	}
	if errors.Is(err, api.ErrSecretNotFound) {
		return fault.NotFound, errors.New("not found")
	}
	if isTLSError(err) {
		return fault.TLS, fmt.Errorf("tls: %s", rootCause(err))
	}
	if errors.Is(err, context.Canceled) {
		return fault.Unknown, errors.New("canceled")
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		addr := ""
		if ue != nil {
			if u, perr := url.Parse(ue.URL); perr == nil {
				addr = u.Scheme + "://" + u.Host
			}
		}
		if addr != "" {
			return fault.Unreachable, fmt.Errorf("cannot reach %s: %s", addr, rootCause(err))
		}
		return fault.Unreachable, fmt.Errorf("cannot reach vault: %s", rootCause(err))
	}
	return fault.Unknown, err
}

// rootCause gives the innermost message, dropping the "Get https://…/v1/…"
// prefixes that url.Error adds.
func rootCause(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	return err.Error()
}

func isTLSError(err error) bool {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var cv *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	return errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &cv) ||
		errors.As(err, &rh) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

// checkRetry retries connection errors and 5xx responses, except answers that
// will not change by retrying: TLS failures, 501 (uninitialised) and
// 503 "Vault is sealed".
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		if isTLSError(err) {
			return false, err
		}
		return true, nil
	}
	switch {
	case resp.StatusCode == http.StatusPreconditionFailed: // raft consistency: retry
		return true, nil
	case resp.StatusCode == http.StatusServiceUnavailable:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return !bytes.Contains(bytes.ToLower(body), []byte("sealed")), nil
	case resp.StatusCode == http.StatusNotImplemented:
		return false, nil
	case resp.StatusCode >= 500:
		return true, nil
	}
	return false, nil
}

func isLoopbackURL(addr string) bool {
	u, err := url.Parse(addr)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
