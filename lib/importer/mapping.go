package importer

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/vaultpipe/vaultpipe/lib/ref"
)

// Layout says how the keys of one .env file are laid out in Vault.
type Layout string

const (
	// LayoutFile stores a whole file as one secret, one field per key:
	// vault:secret/data/app/prod#DB_PASSWORD.
	LayoutFile Layout = "file"
	// LayoutKey stores each key as its own secret under the file's path,
	// in the field "value": vault:secret/data/app/prod/DB_PASSWORD#value.
	LayoutKey Layout = "key"
)

// KeyField is the field that holds the value in LayoutKey.
const KeyField = "value"

// Mapping turns a (file, key) pair into the KV v2 field it is stored in.
type Mapping struct {
	Mount string // KV v2 mount ("secret")
	// Template builds a file's path from {app} and {env}; "{app}/{env}"
	// by default.
	Template string
	// App and Env override what is derived from the file's location: the
	// name of its directory, and the file name (.env.prod and prod.env give
	// "prod", .env gives "default").
	App, Env string
	// Paths maps a file (as given, cleaned) to its path, bypassing Template.
	Paths  map[string]string
	Layout Layout
	// Rename maps a .env key to the field name (LayoutFile) or the last
	// path segment (LayoutKey) it is stored under.
	Rename map[string]string
}

// Target returns where key of file is stored.
func (m Mapping) Target(file, key string) (ref.Ref, error) {
	base, err := m.FilePath(file)
	if err != nil {
		return ref.Ref{}, err
	}
	name := key
	if n, ok := m.Rename[key]; ok {
		name = n
	}
	var r ref.Ref
	switch m.Layout {
	case LayoutKey:
		r, err = ref.New(m.mount(), base+"/"+name, KeyField)
		if err != nil {
			return ref.Ref{}, fmt.Errorf("%s: key %s cannot be a path segment (no /, #, ? or control characters): rename it with --rename %s=NEW", file, key, key)
		}
	case LayoutFile, "":
		r, err = ref.New(m.mount(), base, name)
		if err != nil {
			return ref.Ref{}, fmt.Errorf("%s: key %s cannot be stored as a field: %w", file, key, err)
		}
	default:
		return ref.Ref{}, fmt.Errorf("unknown layout %q (want file or key)", m.Layout)
	}
	return r, nil
}

func (m Mapping) mount() string {
	if mt := strings.Trim(m.Mount, "/"); mt != "" {
		return mt
	}
	return "secret"
}

// FilePath returns the Vault path (without mount) a file maps to.
func (m Mapping) FilePath(file string) (string, error) {
	if p, ok := m.Paths[filepath.Clean(file)]; ok {
		return m.checkPath(file, p)
	}
	tmpl := m.Template
	if tmpl == "" {
		tmpl = "{app}/{env}"
	}
	app, env := m.App, m.Env
	if app == "" && strings.Contains(tmpl, "{app}") {
		abs, err := filepath.Abs(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", file, err)
		}
		app = filepath.Base(filepath.Dir(abs))
		if app == "/" || app == "." {
			return "", fmt.Errorf("%s: cannot derive {app} from the file's directory: set --app", file)
		}
	}
	if env == "" {
		env = EnvName(file)
	}
	p := strings.NewReplacer("{app}", app, "{env}", env).Replace(tmpl)
	return m.checkPath(file, p)
}

func (m Mapping) checkPath(file, p string) (string, error) {
	p = strings.Trim(p, "/")
	if _, err := ref.New(m.mount(), p, "k"); err != nil {
		return "", fmt.Errorf("%s maps to Vault path %q, which is not usable (%v): set --app and --env, or --map %s=PATH", file, p, err, file)
	}
	return p, nil
}

// EnvName derives an environment name from a file name: ".env.prod" and
// "prod.env" give "prod", ".env" gives "default", anything else its name.
func EnvName(file string) string {
	b := filepath.Base(file)
	switch {
	case b == ".env":
		return "default"
	case strings.HasPrefix(b, ".env."):
		return strings.TrimPrefix(b, ".env.")
	case strings.HasSuffix(b, ".env") && len(b) > len(".env"):
		return strings.TrimSuffix(b, ".env")
	}
	return b
}

// ParsePairs parses "A=B" arguments (for --rename and --map).
func ParsePairs(flag string, args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("--%s %q: want OLD=NEW", flag, a)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--%s: %s given twice", flag, k)
		}
		out[k] = v
	}
	return out, nil
}
