package install

import (
	"bytes"
	"text/template"
)

// Unit are the paths the systemd unit names.
type Unit struct {
	Binary  string // /usr/local/bin/vault
	Config  string // /etc/vault.d/vault.hcl
	DataDir string // /opt/vault/data: raft storage, the one place Vault writes data
	LogDir  string // /var/log/vault: the file audit devices
	User    string // vault
}

// The unit confines Vault as far as it allows: it runs as its own user with
// no capabilities at all (vault.hcl sets disable_mlock, so even IPC_LOCK
// goes), sees the file system read-only except its data and audit-log
// directories, has no home directories, devices, kernel knobs or other
// processes, may open only IP and local sockets, and may only make the
// system calls of an ordinary service (without @privileged and
// @resources, refused with EPERM). It never swaps (MemorySwapMax) and
// dumps no core. PrivateUsers maps only root and vault into its user
// namespace, which needs a kernel with user namespaces (any VPS kernel;
// not some container hosts).
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
LimitCORE=0
MemorySwapMax=0
UMask=0077
CapabilityBoundingSet=
AmbientCapabilities=
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={{.DataDir}} {{.LogDir}}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateUsers=yes
PrivateMounts=yes
ProtectProc=invisible
ProcSubset=pid
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM

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
var DefaultUnit = Unit{Binary: Layout.Binary, Config: Layout.Config, DataDir: Layout.DataDir, LogDir: Layout.LogDir, User: "vault"}

// unit names the real paths, so that a unit under --root points at the
// binary and config installed there (and systemd-analyze can verify it).
func (o *Options) unit() Unit {
	return Unit{Binary: o.Path(Layout.Binary), Config: o.Path(Layout.Config), DataDir: o.Path(Layout.DataDir), LogDir: o.Path(Layout.LogDir), User: o.User}
}
