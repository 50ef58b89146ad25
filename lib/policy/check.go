package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// CheckOptions adjust Check.
type CheckOptions struct {
	// Mount is the AppRole auth mount (DefaultMount when empty).
	Mount string
	// Identities limits the check to these identities (all when empty).
	Identities []string
}

// Verdicts of one probe.
const (
	VerdictAllow   = "allow"
	VerdictDeny    = "deny"
	VerdictSkipped = "skipped"
	VerdictError   = "error"
)

// Result is the outcome of one matrix row.
type Result struct {
	Row        string `json:"row"`
	File       string `json:"file"`
	Line       int    `json:"line"`
	Identity   string `json:"identity"`
	Path       string `json:"path"`
	Capability string `json:"capability"`
	Expect     string `json:"expect"`
	// Data is the probe's request body, for rows about allowed_parameters;
	// Login the login check of a login row.
	Data    json.RawMessage `json:"data,omitempty"`
	Login   string          `json:"login,omitempty"`
	WrapTTL string          `json:"wrap_ttl,omitempty"`
	// CapabilitiesSelf is what sys/capabilities-self answered for the
	// capability; Granted is its full answer for the path.
	CapabilitiesSelf string   `json:"capabilities_self"`
	Granted          []string `json:"granted"`
	// Operation is the real request made and OperationResult what it
	// showed: allow (any answer but 403), deny (403), skipped, error.
	Operation       string `json:"operation"`
	OperationResult string `json:"operation_result"`
	Status          int    `json:"status,omitempty"`
	Error           string `json:"error,omitempty"`
	OK              bool   `json:"ok"`
}

// CheckReport summarises a check. Mismatches holds every row that did not
// behave as expected; a report without mismatches is a pass.
type CheckReport struct {
	Rows       int      `json:"rows"`
	Passed     int      `json:"passed"`
	Failed     int      `json:"failed"`
	Identities []string `json:"identities"`
	Mismatches []Result `json:"mismatches"`
	Results    []Result `json:"-"`
}

// Check proves the access matrix against a live server. For each identity
// it logs in — through its AppRole with a fresh secret_id (destroyed
// afterwards), or, for a policy-only identity such as admin, with a short
// child token carrying that policy — then asks sys/capabilities-self about
// every row's path and makes the row's real request. Both must agree with
// the row; the token is revoked at the end. A row with Data sends that body;
// a deny row with Data is decided by the request alone, since
// sys/capabilities-self does not see allowed_parameters. A login row
// issues a response-wrapped secret_id, logs in through it as a secret_id
// file would (vaultclient.ResolveSecretID), and — for wrapped-reuse —
// tries the same wrapping token again, which must be refused.
//
// c needs to read role_ids and generate and destroy secret_ids (or create
// tokens with the policies checked): policy-sync, or root.
func Check(ctx context.Context, c *vaultclient.Client, set *Set, opts CheckOptions) (*CheckReport, error) {
	mount := strings.Trim(opts.Mount, "/")
	if mount == "" {
		mount = DefaultMount
	}
	only := map[string]bool{}
	for _, id := range opts.Identities {
		if set.AppRole(id) == nil && set.Policy(id) == nil {
			return nil, fault.Usagef("unknown identity %q: not an AppRole or a policy in %s", id, set.Dir)
		}
		only[id] = true
	}
	byIdentity := map[string][]Row{}
	var ids []string
	for _, r := range set.Matrix {
		if len(only) > 0 && !only[r.Identity] {
			continue
		}
		if _, ok := byIdentity[r.Identity]; !ok {
			ids = append(ids, r.Identity)
		}
		byIdentity[r.Identity] = append(byIdentity[r.Identity], r)
	}
	sort.Strings(ids)
	rep := &CheckReport{Identities: ids, Mismatches: []Result{}}
	if len(ids) == 0 {
		rep.Identities = []string{}
	}
	for _, id := range ids {
		results, err := checkIdentity(ctx, c, set, mount, id, byIdentity[id])
		if err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, results...)
	}
	for _, r := range rep.Results {
		rep.Rows++
		if r.OK {
			rep.Passed++
		} else {
			rep.Failed++
			rep.Mismatches = append(rep.Mismatches, r)
		}
	}
	return rep, nil
}

func checkIdentity(ctx context.Context, c *vaultclient.Client, set *Set, mount, id string, rows []Row) ([]Result, error) {
	ic, cleanup, loginErr := loginAs(ctx, c, set, mount, id)
	if cleanup != nil {
		defer cleanup()
	}
	results := make([]Result, len(rows))
	for i, r := range rows {
		results[i] = Result{Row: r.Name, File: r.File, Line: r.Line, Identity: r.Identity, Path: r.Path,
			Capability: r.Capability, Expect: r.Expect, Operation: r.Operation, Data: r.Data, Login: r.Login, WrapTTL: r.WrapTTL,
			Granted: []string{}}
	}
	if loginErr != nil {
		// A server that cannot be reached or is sealed is not a mismatch.
		switch fault.KindOf(loginErr) {
		case fault.Unreachable, fault.TLS, fault.Sealed, fault.Uninitialized, fault.Usage:
			return nil, loginErr
		}
		for i := range results {
			results[i].CapabilitiesSelf = VerdictError
			results[i].OperationResult = VerdictSkipped
			results[i].Error = "logging in as " + id + ": " + loginErr.Error()
		}
		return results, nil
	}
	paths := make([]string, 0, len(rows))
	seen := map[string]bool{}
	for _, r := range rows {
		if r.Login == "" && !seen[r.Path] {
			seen[r.Path] = true
			paths = append(paths, r.Path)
		}
	}
	granted, err := capabilitiesSelf(ctx, ic, paths)
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		res := &results[i]
		if r.Login != "" {
			checkLogin(ctx, c, set, mount, r, res)
			res.OK = res.OperationResult == r.Expect
			continue
		}
		if g, ok := granted[r.Path]; ok {
			res.Granted = g
		}
		res.CapabilitiesSelf = VerdictDeny
		for _, g := range res.Granted {
			if g == r.Capability || g == "root" {
				res.CapabilitiesSelf = VerdictAllow
			}
		}
		res.OperationResult, res.Status, res.Error = probe(ctx, ic, r.Operation, r.Path, r.Data, r.WrapTTL)
		capsOK := res.CapabilitiesSelf == r.Expect
		if r.Data != nil && r.Expect == Deny {
			// The capability is granted; the parameters are what is refused.
			capsOK = true
		}
		res.OK = capsOK && (res.OperationResult == VerdictSkipped || res.OperationResult == r.Expect)
	}
	return results, nil
}

// checkLogin proves a login row: a response-wrapped secret_id for the
// row's AppRole logs in once through vaultclient.ResolveSecretID (allow);
// for wrapped-reuse, the same wrapping token a second time must be refused
// (deny). Every secret_id it makes is destroyed.
func checkLogin(ctx context.Context, c *vaultclient.Client, set *Set, mount string, r Row, res *Result) {
	res.CapabilitiesSelf = VerdictSkipped
	fail := func(verdict, msg string) {
		res.OperationResult, res.Error = verdict, msg
	}
	if set.AppRole(r.Identity) == nil {
		fail(VerdictError, "login rows need an AppRole identity; "+r.Identity+" has no approles/"+r.Identity+".hcl")
		return
	}
	cr, err := Issue(ctx, c, r.Identity, IssueOptions{Mount: mount, WrapTTL: time.Minute,
		Metadata: map[string]string{"issued_by": "vault-policy check"}})
	if err != nil {
		fail(VerdictError, "issuing a wrapped secret_id: "+err.Error())
		return
	}
	cl, err := c.Client.CloneWithHeaders()
	if err != nil {
		fail(VerdictError, err.Error())
		return
	}
	cl.ClearToken()
	lc := &vaultclient.Client{Client: cl}
	destroy := func(acc string) {
		if acc != "" {
			DestroySecretID(context.WithoutCancel(ctx), c, mount, r.Identity, acc)
		}
	}
	sid, err := lc.ResolveSecretID(ctx, mount, cr.WrapToken)
	if err != nil {
		fail(VerdictDeny, "unwrapping the first time: "+err.Error())
		return
	}
	defer destroy(sid.Accessor)
	if err := lc.LoginAppRole(ctx, mount, cr.RoleID, sid.Value); err != nil {
		fail(VerdictDeny, "logging in with the unwrapped secret_id: "+err.Error())
		return
	}
	lc.Close(context.WithoutCancel(ctx))
	if r.Login == LoginWrapped {
		res.OperationResult = VerdictAllow
		return
	}
	again, err := lc.ResolveSecretID(ctx, mount, cr.WrapToken)
	switch {
	case err == nil:
		defer destroy(again.Accessor)
		fail(VerdictAllow, "the wrapping token unwrapped a second time")
	case fault.Is(err, fault.Denied):
		res.OperationResult = VerdictDeny
	default:
		fail(VerdictError, "unwrapping the second time: "+err.Error())
	}
}

// loginAs returns a client authenticated as identity id and a function that
// revokes its token (and destroys the secret_id used).
func loginAs(ctx context.Context, c *vaultclient.Client, set *Set, mount, id string) (*vaultclient.Client, func(), error) {
	cl, err := c.Client.CloneWithHeaders()
	if err != nil {
		return nil, nil, fault.New(fault.Usage, "building Vault client", "", err)
	}
	cl.ClearToken()
	ic := &vaultclient.Client{Client: cl}
	if set.AppRole(id) != nil {
		cr, err := Issue(ctx, c, id, IssueOptions{Mount: mount, Metadata: map[string]string{"issued_by": "vault-policy check"}})
		if err != nil {
			return nil, nil, err
		}
		cleanup := func() {
			ic.Close(context.WithoutCancel(ctx))
			DestroySecretID(context.WithoutCancel(ctx), c, mount, id, cr.SecretIDAccessor)
		}
		if err := ic.LoginAppRole(ctx, mount, cr.RoleID, cr.SecretID); err != nil {
			return nil, cleanup, err
		}
		return ic, cleanup, nil
	}
	s, err := c.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{
		Policies:    []string{id},
		TTL:         "10m",
		DisplayName: "vault-policy-check-" + id,
	})
	if err != nil {
		return nil, nil, c.Classify(err, "creating a token with policy", id)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return nil, nil, fault.New(fault.Server, "creating a token with policy", id, errors.New("no token in the response"))
	}
	cl.SetToken(s.Auth.ClientToken)
	return ic, func() { cl.Auth().Token().RevokeSelfWithContext(context.WithoutCancel(ctx), "") }, nil
}

func capabilitiesSelf(ctx context.Context, ic *vaultclient.Client, paths []string) (map[string][]string, error) {
	s, err := ic.Write(ctx, "sys/capabilities-self", map[string]any{"paths": paths})
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	if s == nil {
		return out, nil
	}
	for _, p := range paths {
		raw, ok := s.Data[p].([]any)
		if !ok && len(paths) == 1 {
			raw, _ = s.Data["capabilities"].([]any)
		}
		caps := []string{}
		for _, v := range raw {
			caps = append(caps, fmt.Sprint(v))
		}
		sort.Strings(caps)
		out[p] = caps
	}
	return out, nil
}

// probe makes the real request for op on path and tells whether the ACL let
// it through: Vault checks the policy before the request reaches a
// backend, so only 403 means denied — 400, 404 or 405 came from past it.
func probe(ctx context.Context, ic *vaultclient.Client, op, path string, data json.RawMessage, wrapTTL string) (verdict string, status int, errMsg string) {
	var method string
	body := false
	switch op {
	case OpNone, "":
		return VerdictSkipped, 0, ""
	case OpRead:
		method = http.MethodGet
	case OpList:
		method = "LIST"
	case OpWrite:
		method, body = http.MethodPost, true
	case OpPatch:
		method, body = http.MethodPatch, true
	case OpDelete:
		method = http.MethodDelete
	default:
		return VerdictError, 0, "unknown operation " + op
	}
	req := ic.NewRequest(method, "/v1/"+path)
	req.WrapTTL = wrapTTL
	if body {
		req.BodyBytes = []byte("{}")
		if data != nil {
			req.BodyBytes = data
		}
		if op == OpPatch {
			// req.Headers is the client's own map: copy before adding.
			h := http.Header{}
			for k, v := range req.Headers {
				h[k] = v
			}
			h.Set("Content-Type", "application/merge-patch+json")
			req.Headers = h
		}
	}
	//lint:ignore SA1019 a probe needs the bare status of any method; the Logical helpers turn 404 into nil
	resp, err := ic.RawRequestWithContext(ctx, req)
	if resp != nil {
		// A snapshot read streams the whole snapshot: the status is enough.
		resp.Body.Close()
		status = resp.StatusCode
	}
	switch {
	case status == http.StatusForbidden:
		return VerdictDeny, status, ""
	case status >= 500 || status == 0:
		msg := "no response"
		if err != nil {
			msg = vaultclient.Classify(err, op, path).Error()
		}
		return VerdictError, status, msg
	}
	return VerdictAllow, status, ""
}
