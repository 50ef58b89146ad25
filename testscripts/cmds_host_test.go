package testscripts

// Commands that run a Debian host with systemd as PID 1 (lib/hosttest):
//
//	host-up [-net [-addr 127.0.0.N]] [NAME]
//	                   boot a box (hostname NAME-xxxx, default vps) with the
//	                   freshly built binaries in /opt/vaultpipe/bin (first on
//	                   PATH), scripts/, policies/ and systemd/ in /opt/vaultpipe,
//	                   and the Vault server binary at /opt/vaultpipe/vault
//	                   (read-only); only loopback inside; exports BOX_NAME.
//	                   -net: the box shares one network namespace (made for the
//	                   script, loopback only) with the script's other -net
//	                   boxes, its name at 127.0.0.N in its /etc/hosts, so that
//	                   they reach each other there. At most two scripts with
//	                   boxes run at a time; they start with
//	                   [!box] skip 'boxes need root, systemd-nspawn and debootstrap'
//	                   ([box]: hosttest.Available, i.e. root and the tools).
//	host-exec [-b NAME] [-u USER] [-env K=V]... [-stdin FILE] [-exit N] PROG [ARGS...]
//	                   run PROG in the box (as root, or USER) with a clean
//	                   environment (PATH, HOME, LANG, and each -env: nothing of
//	                   the script's); stdout/stderr are kept for the next checks,
//	                   stdin comes from FILE (or the stdin command). -exit N:
//	                   PROG must exit with status N; ! host-exec: non-zero
//	host-reboot [-b NAME]
//	                   power the box off and boot it again on the same disk
//	host-poweroff [-b NAME], host-boot [-b NAME]
//	                   the two halves of host-reboot
//	host-fetch [-b NAME] PATH FILE
//	                   copy PATH (as the box sees it) to FILE in $WORK
//	host-put [-b NAME] FILE PATH [MODE]
//	                   copy FILE of $WORK to PATH in the box (root-owned,
//	                   MODE default 0600)
//	host-units [-b NAME] [-max SCORE] [-dir DIR] [-token FILE] OUT
//	                   check every unit of systemd/ (or DIR in the box) under
//	                   the box's systemd: installed as shipped, verified,
//	                   services started (their Condition…= met) and
//	                   successful, timers loaded with their OnCalendar,
//	                   services' systemd-analyze security
//	                   exposure <= SCORE (default 5.0), LoadCredential= files
//	                   root's, 0600 or stricter, unreadable by the service's
//	                   User=; one JSON line per unit to OUT. A unit's
//	                   <unit>.boxtest (sh -e, as root, with VAULT_ADDR,
//	                   VAULT_CACERT and, given -token, VAULT_TOKEN from FILE
//	                   in the box) runs before it starts, e.g. to issue the
//	                   AppRole credentials the unit loads.
//	                   ! host-units: some check fails
//	host-down [-b NAME]
//	                   power the box off and remove it (done at the end of
//	                   every script anyway; the journal's tail is logged then
//	                   and shows when the script fails or with -v)
//
// -b picks a box by NAME when a script has several (default: the first).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vaultpipe/vaultpipe/lib/hosttest"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func init() {
	conditions["box"] = func() (bool, error) { return hosttest.Available() == nil, nil }
	commands["host-up"] = cmdHostUp
	commands["host-exec"] = cmdHostExec
	commands["host-reboot"] = cmdHostReboot
	commands["host-poweroff"] = cmdHostPowerOff
	commands["host-boot"] = cmdHostBoot
	commands["host-fetch"] = cmdHostFetch
	commands["host-put"] = cmdHostPut
	commands["host-units"] = cmdHostUnits
	commands["host-down"] = cmdHostDown
}

// boxSlots lets two scripts at a time run boxes: each runs Vaults and
// systemd, and the machine has two cores; the box scripts mostly wait (for
// elections, restarts), so two overlap well.
var boxSlots = make(chan struct{}, 2)

type hostState struct {
	boxes []*hosttest.Box
	net   *hosttest.Net // shared by the boxes of host-up -net
}

// hostStates holds each script's boxes (keyed by *testscript.TestScript).
var hostStates sync.Map

func hosts(ts *testscript.TestScript) *hostState {
	if st, ok := hostStates.Load(ts); ok {
		return st.(*hostState)
	}
	ts.Fatalf("no box: run host-up first")
	return nil
}

// box finds the box named by -b (or the first one).
func (st *hostState) box(ts *testscript.TestScript, name string) *hosttest.Box {
	for _, b := range st.boxes {
		if name == "" || strings.HasPrefix(b.Name(), name+"-") || b.Name() == name {
			return b
		}
	}
	ts.Fatalf("no box %q: run host-up %s first", name, name)
	return nil
}

func cmdHostUp(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("host-up", flag.ContinueOnError)
	shared := fs.Bool("net", false, "share the script's network namespace")
	addr := fs.String("addr", "", "the box's 127.x address")
	if err := fs.Parse(args); err != nil || neg || fs.NArg() > 1 || (*addr != "" && !*shared) {
		ts.Fatalf("usage: host-up [-net [-addr 127.0.0.N]] [NAME]")
	}
	if err := hosttest.Available(); err != nil {
		ts.Fatalf("host-up: %v (scripts start with: [!box] skip)", err)
	}
	name := "vps"
	if fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	var st *hostState
	if v, ok := hostStates.Load(ts); ok {
		st = v.(*hostState)
	} else {
		boxSlots <- struct{}{}
		st = &hostState{}
		hostStates.Store(ts, st)
		ts.Defer(func() {
			defer func() { <-boxSlots }()
			defer hostStates.Delete(ts)
			for _, b := range st.boxes {
				closeBox(ts, b)
			}
			if st.net != nil {
				if err := st.net.Close(); err != nil {
					ts.Logf("host-up: %v", err)
				}
			}
		})
	}
	var boxNet *hosttest.Net
	if *shared {
		if st.net == nil {
			n, err := hosttest.NewNet(context.Background())
			if err != nil {
				ts.Fatalf("host-up: %v", err)
			}
			st.net = n
		}
		boxNet = st.net
	}
	root, err := vaulttest.RepoRoot()
	ts.Check(err)
	copies := map[string]string{}
	entries, err := os.ReadDir(binDir)
	ts.Check(err)
	for _, e := range entries {
		if e.Name() != "vault" { // the server binary is bound read-only instead
			copies[filepath.Join(binDir, e.Name())] = "/opt/vaultpipe/bin/" + e.Name()
		}
	}
	for _, d := range []string{"scripts", "policies", "systemd"} {
		copies[filepath.Join(root, d)] = "/opt/vaultpipe/" + d
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b, err := hosttest.Start(ctx, hosttest.Config{
		// Unique, so that boxes of other test processes never share a name.
		Name:   hosttest.UniqueName(name),
		Net:    boxNet,
		Addr:   *addr,
		Copy:   copies,
		BindRO: map[string]string{vaultBinary: "/opt/vaultpipe/vault"},
		Logf:   ts.Logf,
	})
	if err != nil {
		ts.Fatalf("host-up: %v", err)
	}
	st.boxes = append(st.boxes, b)
	ts.Setenv("BOX_NAME", b.Name())
}

func closeBox(ts *testscript.TestScript, b *hosttest.Box) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ts.Logf("journal of box %s (tail):\n%s", b.Name(), b.Journal(ctx, 150))
	if err := b.Close(); err != nil {
		ts.Logf("host-down: %v", err)
	}
	// TestMain fails the run if anything is left (hosttest.CloseAll).
	if left := b.Leftovers(); len(left) > 0 {
		ts.Logf("box %s left behind:\n%s", b.Name(), strings.Join(left, "\n"))
	}
}

func cmdHostExec(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("host-exec", flag.ContinueOnError)
	name := fs.String("b", "", "box")
	user := fs.String("u", "", "user")
	stdin := fs.String("stdin", "", "file")
	want := fs.Int("exit", -1, "exit status")
	var env envList
	fs.Var(&env, "env", "KEY=VALUE")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 || (neg && *want >= 0) {
		ts.Fatalf("usage: host-exec [-b NAME] [-u USER] [-env K=V]... [-stdin FILE] [-exit N] PROG [ARGS...]")
	}
	b := hosts(ts).box(ts, *name)
	argv, err := b.Command(hosttest.Cmd{User: *user, Env: env, Args: fs.Args()})
	ts.Check(err)
	if *stdin != "" {
		// Redirected by a host shell: custom commands cannot set the script's stdin.
		argv = append([]string{"sh", "-c", `f=$1; shift; exec "$@" <"$f"`, "sh", ts.MkAbs(*stdin)}, argv...)
	}
	got := 0
	if err := ts.Exec(argv[0], argv[1:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("host-exec: %v", err)
		}
		got = ee.ExitCode()
	}
	switch {
	case *want >= 0 && got != *want:
		ts.Fatalf("%s exited with status %d; want %d", fs.Arg(0), got, *want)
	case *want < 0 && neg && got == 0:
		ts.Fatalf("%s succeeded unexpectedly", fs.Arg(0))
	case *want < 0 && !neg && got != 0:
		ts.Fatalf("%s exited with status %d", fs.Arg(0), got)
	}
}

type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }
func (e *envList) Set(v string) error {
	if !strings.Contains(v, "=") {
		return errors.New("want KEY=VALUE")
	}
	*e = append(*e, v)
	return nil
}

func cmdHostPut(ts *testscript.TestScript, neg bool, args []string) {
	b, rest := boxFlag(ts, "host-put", args, "[-b NAME] FILE PATH [MODE]")
	if neg || len(rest) < 2 || len(rest) > 3 {
		ts.Fatalf("usage: host-put [-b NAME] FILE PATH [MODE]")
	}
	mode := uint64(0o600)
	if len(rest) == 3 {
		var err error
		if mode, err = strconv.ParseUint(rest[2], 8, 32); err != nil {
			ts.Fatalf("host-put: bad mode %q", rest[2])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.WriteFile(ctx, rest[1], []byte(ts.ReadFile(rest[0])), os.FileMode(mode)); err != nil {
		ts.Fatalf("host-put: %v", err)
	}
}

func boxFlag(ts *testscript.TestScript, cmd string, args []string, usage string) (*hosttest.Box, []string) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	name := fs.String("b", "", "box")
	if err := fs.Parse(args); err != nil {
		ts.Fatalf("usage: %s %s", cmd, usage)
	}
	return hosts(ts).box(ts, *name), fs.Args()
}

func cmdHostReboot(ts *testscript.TestScript, neg bool, args []string) {
	b, rest := boxFlag(ts, "host-reboot", args, "[-b NAME]")
	if neg || len(rest) != 0 {
		ts.Fatalf("usage: host-reboot [-b NAME]")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := b.Reboot(ctx); err != nil {
		ts.Fatalf("host-reboot: %v", err)
	}
}

func cmdHostPowerOff(ts *testscript.TestScript, neg bool, args []string) {
	b, rest := boxFlag(ts, "host-poweroff", args, "[-b NAME]")
	if neg || len(rest) != 0 {
		ts.Fatalf("usage: host-poweroff [-b NAME]")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := b.PowerOff(ctx); err != nil {
		ts.Fatalf("host-poweroff: %v", err)
	}
}

func cmdHostBoot(ts *testscript.TestScript, neg bool, args []string) {
	b, rest := boxFlag(ts, "host-boot", args, "[-b NAME]")
	if neg || len(rest) != 0 {
		ts.Fatalf("usage: host-boot [-b NAME]")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := b.Boot(ctx); err != nil {
		ts.Fatalf("host-boot: %v", err)
	}
}

func cmdHostFetch(ts *testscript.TestScript, neg bool, args []string) {
	b, rest := boxFlag(ts, "host-fetch", args, "[-b NAME] PATH FILE")
	if neg || len(rest) != 2 {
		ts.Fatalf("usage: host-fetch [-b NAME] PATH FILE")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data, err := b.ReadFile(ctx, rest[0])
	if err != nil {
		ts.Fatalf("host-fetch: %v", err)
	}
	ts.Check(os.WriteFile(ts.MkAbs(rest[1]), data, 0o600))
}

func cmdHostDown(ts *testscript.TestScript, neg bool, args []string) {
	b, rest := boxFlag(ts, "host-down", args, "[-b NAME]")
	if neg || len(rest) != 0 {
		ts.Fatalf("usage: host-down [-b NAME]")
	}
	st := hosts(ts)
	for i, x := range st.boxes {
		if x == b {
			st.boxes = append(st.boxes[:i], st.boxes[i+1:]...)
		}
	}
	closeBox(ts, b)
}

// unitResult is one line of host-units' report.
type unitResult struct {
	Unit     string  `json:"unit"`
	Exposure float64 `json:"exposure,omitempty"`
	Calendar string  `json:"on_calendar,omitempty"`
	State    string  `json:"state"`
}

// cmdHostUnits checks every unit of systemd/ (as copied to
// /opt/vaultpipe/systemd) under the box's systemd: installed as shipped,
// verified, started (services succeed; a unit's systemd/<unit>.boxtest
// shell script, if any, runs first as root to provide what it needs),
// timers enabled and loaded with the OnCalendar they declare, and
// `systemd-analyze security` exposure of services at most -max. It writes
// one JSON line per unit to OUT.
func cmdHostUnits(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("host-units", flag.ContinueOnError)
	name := fs.String("b", "", "box")
	maxExposure := fs.Float64("max", 5.0, "highest systemd-analyze security exposure")
	src := fs.String("dir", "/opt/vaultpipe/systemd", "unit directory in the box")
	token := fs.String("token", "", "token file in the box for the hooks")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		ts.Fatalf("usage: host-units [-b NAME] [-max SCORE] [-dir DIR] [-token FILE] OUT")
	}
	b := hosts(ts).box(ts, *name)
	err := checkUnits(b, *src, *token, *maxExposure, ts.MkAbs(fs.Arg(0)), ts.Logf)
	switch {
	case err != nil && !neg:
		ts.Fatalf("host-units: %v", err)
	case err == nil && neg:
		ts.Fatalf("host-units: every unit passed")
	case err != nil:
		ts.Logf("host-units: %v", err)
	}
}

type unitsFailure struct{ error }

func checkUnits(b *hosttest.Box, src, tokenFile string, maxExposure float64, outFile string, logf func(string, ...any)) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(unitsFailure)
			if !ok {
				panic(r)
			}
			err = f.error
		}
	}()
	fail := func(format string, args ...any) { panic(unitsFailure{fmt.Errorf(format, args...)}) }
	run := func(args ...string) string {
		out, err := b.Output(ctx, "", args...)
		if err != nil {
			fail("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	var units []string
	for _, f := range strings.Fields(run("find", src, "-maxdepth", "1", "-type", "f", "(", "-name", "*.service", "-o", "-name", "*.timer", ")", "-printf", "%f\n")) {
		if !strings.Contains(f, "@") { // templates need an instance; their owners test them
			units = append(units, f)
		}
	}
	sort.Strings(units)
	if len(units) == 0 {
		fail("no units in %s", src)
	}
	// Install every unit as shipped; one vault-install wrote must match.
	for _, u := range units {
		run("sh", "-c", `dst=/etc/systemd/system/$1; if [ -e "$dst" ]; then cmp "$2/$1" "$dst" >&2 || { echo "$dst differs from systemd/$1" >&2; exit 1; }; else install -m 0644 "$2/$1" "$dst"; fi`, "sh", u, src)
	}
	run("systemctl", "daemon-reload")
	var out strings.Builder
	enc := json.NewEncoder(&out)
	for _, u := range units {
		run("systemd-analyze", "verify", "/etc/systemd/system/"+u)
		r := unitResult{Unit: u}
		hook := src + "/" + u + ".boxtest"
		if _, err := b.Output(ctx, "", "test", "-f", hook); err == nil {
			// VAULT_TOKEN from the token file, if any; Vault's address and CA as installed.
			run("env", "VAULT_ADDR=https://127.0.0.1:8200", "VAULT_CACERT=/usr/local/share/vaultpipe/vault-ca.pem",
				"sh", "-c", `if [ -n "$1" ]; then VAULT_TOKEN=$(cat "$1") && export VAULT_TOKEN; fi; exec sh -e "$2"`, "sh", tokenFile, hook)
		}
		switch {
		case strings.HasSuffix(u, ".timer"):
			run("systemctl", "enable", "--now", u)
			if !strings.Contains(run("systemctl", "list-timers", "--all", "--no-legend", u), u) {
				fail("%s is not in systemctl list-timers", u)
			}
			got := run("systemctl", "show", "-p", "TimersCalendar", "--value", u)
			for _, line := range strings.Split(run("sed", "-n", "s/^OnCalendar=//p", "/etc/systemd/system/"+u), "\n") {
				if line = strings.TrimSpace(line); line == "" {
					continue
				}
				norm := ""
				for _, l := range strings.Split(run("systemd-analyze", "calendar", line), "\n") {
					if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Normalized form: "); ok {
						norm = v
					}
				}
				if norm == "" || !strings.Contains(got, "OnCalendar="+norm+" ") {
					fail("%s: OnCalendar=%s (normalized %q) not loaded; TimersCalendar=%s", u, line, norm, got)
				}
				r.Calendar = strings.TrimSpace(strings.Join([]string{r.Calendar, norm}, " "))
			}
			r.State = strings.TrimSpace(run("systemctl", "is-active", u))
		default:
			// start waits for a oneshot to finish (and fails if it fails); a
			// long-running service must stay up. A oneshot is unloaded once done,
			// so whether its conditions held is read from the journal.
			since := strings.TrimSpace(run("date", "+@%s"))
			if _, err := b.Output(ctx, "", "systemctl", "start", u); err != nil {
				fail("systemctl start %s: %v\n%s", u, err, b.Journal(ctx, 40, u))
			}
			if j := run("journalctl", "--no-pager", "-o", "cat", "-b", "--since", since, "-u", u); strings.Contains(j, "skipped because") {
				fail("%s did not run: a Condition…= of the unit is not met in the box; give it what it needs in %s.boxtest\n%s", u, u, j)
			}
			show := run("systemctl", "show", "-p", "Result", "-p", "ActiveState", "-p", "Type", u)
			ok := strings.Contains(show, "Result=success\n") &&
				(strings.Contains(show, "ActiveState=active\n") || strings.Contains(show, "Type=oneshot\n"))
			if !ok {
				fail("%s did not succeed:\n%s\n%s", u, show, b.Journal(ctx, 40, u))
			}
			r.State = "success"
			checkCredentials(ctx, b, u, run, fail)
			sec := run("systemd-analyze", "security", "--no-pager", u)
			lines := strings.Split(strings.TrimSpace(sec), "\n")
			fields := strings.Fields(lines[len(lines)-1]) // → Overall exposure level for U: 4.9 OK 🙂
			for i, f := range fields {
				if strings.HasSuffix(f, u+":") && i+1 < len(fields) {
					r.Exposure, _ = strconv.ParseFloat(fields[i+1], 64)
				}
			}
			if r.Exposure == 0 {
				fail("no exposure level in systemd-analyze security %s:\n%s", u, lines[len(lines)-1])
			}
			if r.Exposure > maxExposure {
				fail("%s: systemd-analyze security exposure %.1f > %.1f", u, r.Exposure, maxExposure)
			}
		}
		logf("host-units: %s: %+v", u, r)
		enc.Encode(r)
	}
	if err := os.WriteFile(outFile, []byte(out.String()), 0o644); err != nil {
		fail("%v", err)
	}
	return nil
}

// checkCredentials: a file handed over with LoadCredential= (or
// LoadCredentialEncrypted=) ID:PATH reaches the service through
// $CREDENTIALS_DIRECTORY only: it is root's, not readable by group or
// others, and the service's User= cannot read it directly.
func checkCredentials(ctx context.Context, b *hosttest.Box, unit string, run func(...string) string, fail func(string, ...any)) {
	user := strings.TrimSpace(run("systemctl", "show", "-p", "User", "--value", unit))
	for _, line := range strings.Split(run("sed", "-n", "-E", "s/^LoadCredential(Encrypted)?=//p", "/etc/systemd/system/"+unit), "\n") {
		_, path, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(path, "/") {
			continue // from the credential store, or a name only
		}
		st := strings.Fields(run("stat", "-L", "-c", "%U %a", path))
		mode, _ := strconv.ParseUint(st[1], 8, 32)
		if st[0] != "root" || mode&0o077 != 0 {
			fail("%s: credential %s is %s %s; want root's, 0600 or stricter", unit, path, st[0], st[1])
		}
		if user != "" && user != "root" {
			if _, err := b.Output(ctx, user, "test", "-r", path); err == nil {
				fail("%s: its user %s reads the credential %s directly", unit, user, path)
			}
		}
	}
}
