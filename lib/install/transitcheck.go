package install

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
	"github.com/vaultpipe/vaultpipe/lib/vaultconfig"
)

// TransitToken is what CheckTransitToken reports about the token the
// transit seal uses (never the token itself).
type TransitToken struct {
	TransitAddress string `json:"transit_address"`
	Key            string `json:"key"`
	TTLSeconds     int64  `json:"ttl_seconds"`
	PeriodSeconds  int64  `json:"period_seconds"`
	Renewable      bool   `json:"renewable"`
	ExpireTime     string `json:"expire_time,omitempty"`
	LastRenewal    string `json:"last_renewal,omitempty"`
	// Expiring is set when the TTL is below the minimum: renewals stopped
	// (the node is down or cannot reach the transit Vault) or the token is
	// not periodic.
	Expiring bool  `json:"expiring"`
	MinTTL   int64 `json:"min_ttl_seconds"`
}

// CheckTransitToken reads the transit seal of the config under root, looks
// its token up on the transit Vault (lookup-self: the default policy allows
// it) and flags it when its TTL is below minTTL (0: half its period, or
// 12h for a token that has none). An expiring token is a fault.Findings
// error, with the report.
func CheckTransitToken(ctx context.Context, root string, minTTL time.Duration) (*TransitToken, error) {
	o := &Options{Root: root}
	path := o.Path(Layout.Config)
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fault.New(fault.BadInput, "reading", path, err)
	}
	ts, err := vaultconfig.ParseTransit(src, path)
	if err != nil {
		return nil, fault.New(fault.BadInput, "", "", err)
	}
	if ts == nil || ts.Disabled || ts.Token == "" {
		return nil, fault.Errorf(fault.Usage, "%s has no transit seal in use", path)
	}
	vc, err := vaultclient.New(ctx, vaultclient.Flags{Conn: vaultclient.Conn{Address: ts.Address, CACert: ts.CACert, MaxRetries: 2}},
		vaultclient.Options{NoAuth: true})
	if err != nil {
		return nil, err
	}
	vc.SetToken(ts.Token)
	sec, err := vc.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, fault.WithHint(vaultclient.Classify(err, "looking up the transit seal's token on", ts.Address),
			"a denied lookup means the token is revoked or expired: make a new one (docs/runbooks/transit-unseal.md)")
	}
	num := func(k string) int64 {
		n, _ := sec.Data[k].(json.Number)
		v, _ := n.Int64()
		return v
	}
	str := func(k string) string { s, _ := sec.Data[k].(string); return s }
	r := &TransitToken{TransitAddress: ts.Address, Key: ts.MountPath + ts.KeyName, TTLSeconds: num("ttl"), PeriodSeconds: num("period"),
		ExpireTime: str("expire_time"), LastRenewal: str("last_renewal")}
	r.Renewable, _ = sec.Data["renewable"].(bool)
	if minTTL <= 0 {
		minTTL = 12 * time.Hour
		if r.PeriodSeconds > 0 {
			minTTL = time.Duration(r.PeriodSeconds) * time.Second / 2
		}
	}
	r.MinTTL = int64(minTTL / time.Second)
	if r.TTLSeconds < r.MinTTL {
		r.Expiring = true
		return r, fault.Errorf(fault.Findings, "the transit seal's token expires in %ds (under %ds): renewals stopped or it is not periodic", r.TTLSeconds, r.MinTTL)
	}
	return r, nil
}
