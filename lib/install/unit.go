package install

import (
	"bytes"
	"text/template"
)

// Unit are the paths the systemd unit names.
type Unit struct {
	Binary string // /usr/local/bin/vault
	Config string // /etc/vault.d/vault.hcl
	User   string // vault
}

// The unit hardens beyond the one in HashiCorp's package: no swap for the
// process, no core dumps, no devices, no privilege gain, and only the one
// capability Vault needs (IPC_LOCK, for when mlock is enabled).
var unitTemplate = template.Must(template.New("unit").Parse(`[Unit]
Description=HashiCorp Vault (installed by vault-install)
Documentation=https://developer.hashicorp.com/vault/docs
Requires=network-online.target
After=network-online.target
ConditionFileNotEmpty={{.Config}}
StartLimitIntervalSec=60
StartLimitBurst=3

[Service]
Type=notify
User={{.User}}
Group={{.User}}
ExecStart={{.Binary}} server -config={{.Config}}
ExecReload=/bin/kill --signal HUP $MAINPID
KillMode=process
KillSignal=SIGINT
Restart=on-failure
RestartSec=5
TimeoutStopSec=30
LimitNOFILE=65536
LimitMEMLOCK=infinity
LimitCORE=0
MemorySwapMax=0
ProtectSystem=full
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
NoNewPrivileges=yes
SecureBits=keep-caps
CapabilityBoundingSet=CAP_IPC_LOCK
AmbientCapabilities=CAP_IPC_LOCK
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
UMask=0077

[Install]
WantedBy=multi-user.target
`))

// Render returns the unit file text.
func (u Unit) Render() []byte {
	var b bytes.Buffer
	if err := unitTemplate.Execute(&b, u); err != nil {
		panic(err) // the template and its fields are fixed
	}
	return b.Bytes()
}

// DefaultUnit is the unit for the standard layout.
var DefaultUnit = Unit{Binary: "/usr/local/bin/vault", Config: "/etc/vault.d/vault.hcl", User: "vault"}

// unit names the real paths, so that a unit under --root points at the
// binary and config installed there (and systemd-analyze can verify it).
func (o *Options) unit() Unit {
	return Unit{Binary: o.Path(Layout.Binary), Config: o.Path(Layout.Config), User: o.User}
}
