package install

import (
	"net"

	"github.com/vaultpipe/vaultpipe/lib/vaultconfig"
)

func (o *Options) serverConfig() vaultconfig.Server {
	tlsCert, tlsKey := Layout.ServerCert, Layout.ServerKey
	joinCA := o.JoinCACert
	if joinCA == "" && len(o.Join) > 0 {
		joinCA = o.Path(Layout.CACert)
	}
	return vaultconfig.Server{
		NodeID:         o.NodeID,
		DataDir:        o.Path(Layout.DataDir),
		Listen:         o.Listen,
		ClusterListen:  o.ClusterListen,
		APIAddr:        o.APIAddr,
		ClusterAddr:    o.ClusterAddr,
		TLSCertFile:    o.Path(tlsCert),
		TLSKeyFile:     o.Path(tlsKey),
		TLS13Only:      o.TLS13Only,
		UI:             o.UI,
		Join:           o.Join,
		JoinCACertFile: joinCA,
		Transit:        o.transitSeal(),
	}
}

// advertised turns a listen address into one peers can dial.
func advertised(listen, host string) string {
	h, p, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(h); h == "" || ip != nil && ip.IsUnspecified() {
		h = host
	}
	return net.JoinHostPort(h, p)
}
