package syspkg

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Installed is the set of Debian packages installed on this machine, with
// what each depends on, as dpkg knows them.
type Installed struct {
	deps      map[string][]string // package → names it depends on (every alternative)
	essential map[string]bool
	providers map[string][]string // virtual package → installed packages providing it
}

// ReadInstalled asks dpkg-query for the installed packages.
func ReadInstalled() (*Installed, error) {
	out, err := exec.Command("dpkg-query", "-W", "-f",
		`${Package}\t${db:Status-Abbrev}\t${Essential}\t${Pre-Depends}\t${Depends}\t${Provides}\n`).Output()
	if err != nil {
		return nil, err
	}
	in := &Installed{deps: map[string][]string{}, essential: map[string]bool{}, providers: map[string][]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 6 || !strings.HasPrefix(f[1], "ii") {
			continue
		}
		pkg := f[0]
		in.deps[pkg] = append(relationNames(f[3]), relationNames(f[4])...)
		in.essential[pkg] = f[2] == "yes"
		for _, v := range relationNames(f[5]) {
			in.providers[v] = append(in.providers[v], pkg)
		}
	}
	return in, sc.Err()
}

// relationNames are the package names of a Depends-style field:
// "a (>= 1) | b, c:any" → a, b, c.
func relationNames(field string) []string {
	var names []string
	for _, alt := range strings.FieldsFunc(field, func(r rune) bool { return r == ',' || r == '|' }) {
		name, _, _ := strings.Cut(strings.TrimSpace(alt), " ")
		name, _, _ = strings.Cut(name, ":")
		if name != "" {
			names = append(names, name)
		}
	}
	return names
}

// Closure is every installed package that roots pull in (roots included),
// through Pre-Depends and Depends, and the Essential packages with theirs:
// Debian guarantees those on every system.
func (in *Installed) Closure(roots []string) map[string]bool {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		if _, ok := in.deps[name]; !ok {
			for _, p := range in.providers[name] {
				visit(p)
			}
			return
		}
		seen[name] = true
		for _, d := range in.deps[name] {
			visit(d)
		}
	}
	for _, r := range roots {
		visit(r)
	}
	for pkg, ess := range in.essential {
		if ess {
			visit(pkg)
		}
	}
	return seen
}

// Owners maps each program path (as exec.LookPath found it) to the Debian
// package that installed it; paths no package installed are left out. dpkg
// records the path a package shipped, which may differ from the one found:
// /usr/bin and /bin are one directory on merged-/usr systems, and the name
// may be a link into a directory of alternatives; each spelling is asked
// for, all in one dpkg-query call.
func Owners(paths []string) (map[string]string, error) {
	var ask []string
	for _, p := range paths {
		ask = append(ask, spellings(p)...)
	}
	if len(ask) == 0 {
		return map[string]string{}, nil
	}
	out, err := exec.Command("dpkg-query", append([]string{"-S"}, ask...)...).Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) { // exit 1: some path is no package's
		return nil, err
	}
	byFile := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "diversion by ") {
			continue
		}
		pkgs, file, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		pkg, _, _ := strings.Cut(strings.TrimSpace(strings.Split(pkgs, ",")[0]), ":")
		byFile[file] = pkg
	}
	owners := map[string]string{}
	for _, p := range paths {
		for _, s := range spellings(p) {
			if pkg, ok := byFile[s]; ok {
				owners[p] = pkg
				break
			}
		}
	}
	return owners, sc.Err()
}

// spellings are path and its merged-/usr twin, then the same for the file
// its links resolve to.
func spellings(path string) []string {
	twins := func(p string) []string {
		for _, d := range []string{"bin", "sbin", "lib"} {
			if rest, ok := strings.CutPrefix(p, "/usr/"+d+"/"); ok {
				return []string{p, "/" + d + "/" + rest}
			}
			if rest, ok := strings.CutPrefix(p, "/"+d+"/"); ok {
				return []string{p, "/usr/" + d + "/" + rest}
			}
		}
		return []string{p}
	}
	out := twins(path)
	if real, err := filepath.EvalSymlinks(path); err == nil && real != path {
		out = append(out, twins(real)...)
	}
	return out
}

// LookPath finds prog as a shell would, with the system directories
// root's PATH has (/usr/sbin, /sbin) added for a non-root PATH.
func LookPath(prog string) (string, error) {
	if filepath.IsAbs(prog) {
		if fi, err := os.Stat(prog); err != nil || fi.IsDir() {
			return "", os.ErrNotExist
		}
		return prog, nil
	}
	if p, err := exec.LookPath(prog); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/local/sbin", "/usr/sbin", "/sbin"} {
		p := filepath.Join(d, prog)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}
