package auditlog

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Fields are the names --fields may project, in their default order.
var Fields = []string{"time", "type", "request_id", "user", "display_name", "entity_id", "role_name",
	"operation", "path", "mount", "mount_type", "remote_address", "policies", "error"}

// CheckFields reports an unknown field name.
func CheckFields(names []string) error {
	for _, n := range names {
		found := false
		for _, f := range Fields {
			if f == n {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("unknown field %q; known fields: %s", n, strings.Join(Fields, ", "))
		}
	}
	return nil
}

// Project returns the named fields of e as an ordered list of key/value
// pairs (JSON object order is the order asked for).
func Project(e *Entry, names []string) Object {
	o := make(Object, 0, len(names))
	for _, n := range names {
		var v any
		switch n {
		case "time":
			v = e.Time.UTC().Format(time.RFC3339Nano)
		case "type":
			v = e.Type
		case "request_id":
			v = e.RequestID
		case "user":
			v = e.User()
		case "display_name":
			v = e.DisplayName
		case "entity_id":
			v = e.EntityID
		case "role_name":
			v = e.RoleName
		case "operation":
			v = e.Operation
		case "path":
			v = e.Path
		case "mount":
			v = e.MountPoint
		case "mount_type":
			v = e.MountType
		case "remote_address":
			v = e.RemoteAddress
		case "policies":
			v = append([]string{}, e.Policies...)
		case "error":
			v = e.Error
		}
		o = append(o, KV{n, v})
	}
	return o
}

// Stats counts matched entries.
type Stats struct {
	Lines       int64            `json:"lines"`
	Matched     int64            `json:"matched"`
	Malformed   int64            `json:"malformed"`
	Requests    int64            `json:"requests"`
	Responses   int64            `json:"responses"`
	Errors      int64            `json:"errors"`
	First       *time.Time       `json:"first,omitempty"`
	Last        *time.Time       `json:"last,omitempty"`
	ByUser      map[string]int64 `json:"by_user"`
	ByPath      map[string]int64 `json:"by_path"`
	ByOperation map[string]int64 `json:"by_operation"`
	ByHour      map[string]int64 `json:"by_hour"`
}

// NewStats returns empty counters.
func NewStats() *Stats {
	return &Stats{ByUser: map[string]int64{}, ByPath: map[string]int64{}, ByOperation: map[string]int64{}, ByHour: map[string]int64{}}
}

// Add counts e. Requests count towards by_user, by_path, by_operation and
// by_hour (so that a request and its response are not counted twice) unless
// only responses were selected, then the responses do.
func (s *Stats) Add(e *Entry, responsesOnly bool) {
	s.Matched++
	if e.Type == "request" {
		s.Requests++
	} else {
		s.Responses++
	}
	if e.Error != "" {
		s.Errors++
	}
	t := e.Time.UTC()
	if s.First == nil || t.Before(*s.First) {
		s.First = &t
	}
	if s.Last == nil || t.After(*s.Last) {
		s.Last = &t
	}
	if e.Type == "request" || responsesOnly {
		u := e.User()
		if u == "" {
			u = "(none)"
		}
		s.ByUser[u]++
		s.ByPath[e.Path]++
		s.ByOperation[e.Operation]++
		s.ByHour[t.Truncate(time.Hour).Format("2006-01-02T15Z")]++
	}
}

// Pair is a request and its response, joined by request id.
type Pair struct {
	RequestID     string     `json:"request_id"`
	Time          time.Time  `json:"time"`
	ResponseTime  *time.Time `json:"response_time,omitempty"`
	User          string     `json:"user"`
	DisplayName   string     `json:"display_name,omitempty"`
	RoleName      string     `json:"role_name,omitempty"`
	EntityID      string     `json:"entity_id,omitempty"`
	Operation     string     `json:"operation"`
	Path          string     `json:"path"`
	RemoteAddress string     `json:"remote_address,omitempty"`
	Error         string     `json:"error,omitempty"`
	// Status is ok (a response without error), error, no_response (none
	// seen, or it did not match the filter) or no_request.
	Status string `json:"status"`
}

// Pairer joins requests and responses. At most Max requests wait for their
// response; the oldest is given up (status no_response) past that.
type Pairer struct {
	Max     int
	pending map[string]*Pair
	order   []string
}

// Add takes the next entry and returns the pairs it completes, in order.
func (p *Pairer) Add(e *Entry) []Pair {
	if p.pending == nil {
		p.pending = map[string]*Pair{}
		if p.Max <= 0 {
			p.Max = 100000
		}
	}
	if e.Type == "request" {
		if _, dup := p.pending[e.RequestID]; dup || e.RequestID == "" {
			pr := pairOf(e)
			pr.Status = "no_response"
			return []Pair{pr}
		}
		pr := pairOf(e)
		p.pending[e.RequestID] = &pr
		p.order = append(p.order, e.RequestID)
		var out []Pair
		for len(p.pending) > p.Max {
			out = append(out, p.evict()...)
		}
		return out
	}
	req, ok := p.pending[e.RequestID]
	if !ok {
		pr := pairOf(e)
		pr.Status = "no_request"
		pr.ResponseTime = &pr.Time
		return []Pair{pr}
	}
	delete(p.pending, e.RequestID)
	t := e.Time
	req.ResponseTime = &t
	if e.Error != "" {
		req.Error, req.Status = e.Error, "error"
	} else {
		req.Status = "ok"
	}
	if req.User == "" {
		req.User, req.DisplayName, req.RoleName, req.EntityID = e.User(), e.DisplayName, e.RoleName, e.EntityID
	}
	return []Pair{*req}
}

func (p *Pairer) evict() []Pair {
	for len(p.order) > 0 {
		id := p.order[0]
		p.order = p.order[1:]
		if pr, ok := p.pending[id]; ok {
			delete(p.pending, id)
			pr.Status = "no_response"
			return []Pair{*pr}
		}
	}
	return nil
}

// Flush returns the requests still waiting, oldest first.
func (p *Pairer) Flush() []Pair {
	var out []Pair
	for len(p.pending) > 0 {
		out = append(out, p.evict()...)
	}
	return out
}

func pairOf(e *Entry) Pair {
	return Pair{RequestID: e.RequestID, Time: e.Time, User: e.User(), DisplayName: e.DisplayName, RoleName: e.RoleName,
		EntityID: e.EntityID, Operation: e.Operation, Path: e.Path, RemoteAddress: e.RemoteAddress, Error: e.Error}
}

// SortedKeys returns m's keys by descending count, then name.
func SortedKeys(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if m[ks[i]] != m[ks[j]] {
			return m[ks[i]] > m[ks[j]]
		}
		return ks[i] < ks[j]
	})
	return ks
}

// KV is one field of an Object.
type KV struct {
	Key   string
	Value any
}

// Object is a JSON object that keeps its fields in order.
type Object []KV

// MarshalJSON implements json.Marshaler.
func (o Object) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, kv := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(kv.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(kv.Value)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}
