package auditlog

import (
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fastjson"
)

// Entry is what a filter looks at in one audit line. Values are as Vault
// logged them: client tokens and secret values are HMACs.
type Entry struct {
	Type          string    `json:"type"`
	Time          time.Time `json:"time"`
	RequestID     string    `json:"request_id"`
	Operation     string    `json:"operation"`
	Path          string    `json:"path"`
	MountPoint    string    `json:"mount"`
	MountType     string    `json:"mount_type"`
	RemoteAddress string    `json:"remote_address"`
	DisplayName   string    `json:"display_name"`
	EntityID      string    `json:"entity_id"`
	RoleName      string    `json:"role_name"`
	Policies      []string  `json:"policies"`
	Error         string    `json:"error"`
}

// User names who made the request: the AppRole role name where the line
// carries one, else the token's display name, else its entity id.
func (e *Entry) User() string {
	switch {
	case e.RoleName != "":
		return e.RoleName
	case e.DisplayName != "":
		return e.DisplayName
	}
	return e.EntityID
}

// ErrNotAudit is wrapped by Parse for valid JSON that is not an audit entry.
var ErrNotAudit = errors.New("not a Vault audit entry")

// Parse decodes one audit line into e using p (reused between calls: a
// Parser is not safe for concurrent use). The line must be one JSON object
// with a "type" of request or response and an RFC 3339 "time".
func Parse(p *fastjson.Parser, line []byte, e *Entry) error {
	v, err := p.ParseBytes(line)
	if err != nil {
		return err
	}
	o, err := v.Object()
	if err != nil {
		return fmt.Errorf("%w: not a JSON object", ErrNotAudit)
	}
	*e = Entry{Policies: e.Policies[:0]}
	// A second "type" or "time" would make the entry mean two things (and
	// the fast path read the other one).
	var nType, nTime int
	o.Visit(func(k []byte, _ *fastjson.Value) {
		switch string(k) {
		case "type":
			nType++
		case "time":
			nTime++
		}
	})
	if nType > 1 || nTime > 1 {
		return fmt.Errorf("%w: duplicate \"type\" or \"time\"", ErrNotAudit)
	}
	typ := o.Get("type")
	if typ == nil || typ.Type() != fastjson.TypeString {
		return fmt.Errorf("%w: no \"type\"", ErrNotAudit)
	}
	e.Type = string(typ.GetStringBytes())
	if e.Type != "request" && e.Type != "response" {
		return fmt.Errorf("%w: type %q", ErrNotAudit, e.Type)
	}
	tm := o.Get("time")
	if tm == nil || tm.Type() != fastjson.TypeString {
		return fmt.Errorf("%w: no \"time\"", ErrNotAudit)
	}
	if e.Time, err = time.Parse(time.RFC3339Nano, string(tm.GetStringBytes())); err != nil {
		return fmt.Errorf("%w: bad \"time\"", ErrNotAudit)
	}
	e.Error = str(o.Get("error"))
	if r := o.Get("request"); r != nil {
		e.RequestID = str(r.Get("id"))
		e.Operation = str(r.Get("operation"))
		e.Path = str(r.Get("path"))
		e.MountPoint = str(r.Get("mount_point"))
		e.MountType = str(r.Get("mount_type"))
		e.RemoteAddress = str(r.Get("remote_address"))
	}
	if a := o.Get("auth"); a != nil {
		e.DisplayName = str(a.Get("display_name"))
		e.EntityID = str(a.Get("entity_id"))
		e.RoleName = str(a.Get("metadata", "role_name"))
		for _, k := range [...]string{"policies", "token_policies", "identity_policies"} {
			for _, p := range a.GetArray(k) {
				if p.Type() == fastjson.TypeString {
					e.Policies = append(e.Policies, string(p.GetStringBytes()))
				}
			}
		}
	}
	return nil
}

func str(v *fastjson.Value) string {
	if v == nil || v.Type() != fastjson.TypeString {
		return ""
	}
	return string(v.GetStringBytes())
}
