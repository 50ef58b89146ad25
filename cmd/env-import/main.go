// The env-import command moves the values of .env files into Vault KV v2
// and rewrites the files to hold references to them instead.
//
// Usage:
//
//	env-import plan  [selection and mapping flags] [--from-scan] [FILE...]
//	env-import apply [selection and mapping flags] [--from-scan] [FILE...] [--rewrite | --remove] [--keep-backup]
//	env-import apply --plan PLAN.json [--rewrite | --remove] [--keep-backup]
//
// plan reads the files (strictly: see docs/dotenv-grammar.md) and Vault, and
// prints what apply would do for each key: create, update, unchanged,
// conflict or skip, with the target path, the version it saw, and the
// value's length and a short HMAC under a key made for this run (never the
// value). It writes nothing.
//
// apply carries out a fresh plan, or the plan file given with --plan (- for
// stdin: env-import plan … | env-import apply --plan -; then a
// key whose secret moved on since, or whose .env value changed length, is a
// conflict and is not written). Writes use check-and-set: a field is created
// only where it does not exist yet, replaced only with --update and only
// against the version the plan saw, and every secret is read back at the
// version written and compared. A concurrent writer makes its keys conflict;
// the others proceed. With --rewrite each verified value in the .env becomes
// a reference (vault:secret/data/app/prod#DB_PASSWORD, see
// docs/references.md), with --remove its line goes; the file is replaced
// atomically, after a 0600 backup that is removed once the rewritten file
// has been read back and every reference resolved to the original value.
// Nothing is rewritten after a failure. Re-running is safe: values Vault
// already holds are "unchanged" and cost no new version; references are
// skipped.
//
// Mapping: each file goes to --path (default "{app}/{env}") under --mount:
// {app} is the file's directory name (or --app), {env} comes from the file
// name (.env.prod or prod.env: prod; .env: default) or --env; --map
// FILE=PATH sets one file's path. --layout file stores a file as one secret
// with a field per key; --layout key stores each key as its own secret
// PATH/KEY with the field "value". --rename OLD=NEW renames a key in Vault.
// --only and --skip select keys by glob. --from-scan reads env-scan's JSON
// lines on stdin and imports the keys of its "dotenv" findings.
//
// Output (stdout, one JSON document): {"format", "items": [{"file", "line",
// "key", "mount", "path", "field", "ref", "action", "reason", "version",
// "value_length", "value_hmac", and after apply "status" (created, updated,
// unchanged, conflict, skipped, failed, not_attempted), "written_version",
// "verified", "file_change" (reference, removed)}], "summary": {action or
// status: count}, "files": [{"file", "change", "keys", "backup"}]}.
// Warnings go to stderr as "FILE:LINE: …", naming the key but never the
// value, for lines other .env readers read differently ($VAR, $(…), a value
// in backticks, ${…} or \\ in single quotes): they are imported as written.
//
// Exit status:
//
//	0  done (plan: nothing in conflict)
//	1  failure: unreadable or malformed input, Vault unreachable, a read-back mismatch
//	2  usage error
//	3  some keys are in conflict (the others were done); see the report
//	4  Vault is sealed; nothing was written or rewritten
//	5  Vault is not initialised; nothing was written or rewritten
//	6  permission denied; nothing was rewritten
//
// Example:
//
//	env-scan . | env-import plan --from-scan --app shop > plan.json
//	jq '.items[] | select(.action != "unchanged") | {key, action, path}' plan.json
//	env-import apply --plan plan.json --rewrite
package main

import (
	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/importer"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

const name = "env-import"

type selection struct {
	Files    []string `arg:"" optional:"" name:"file" help:".env files to import."`
	FromScan bool     `name:"from-scan" help:"Read env-scan JSON lines on stdin and import the keys of its dotenv findings."`
	Mount    string   `default:"secret" help:"Mount of the KV v2 engine."`
	Path     string   `name:"path" default:"{app}/{env}" help:"Vault path of each file; {app} and {env} are replaced."`
	App      string   `help:"Value of {app} (default: the name of the file's directory)."`
	Env      string   `help:"Value of {env} (default: from the file name; .env gives 'default')."`
	Map      []string `sep:"none" placeholder:"FILE=PATH" help:"Vault path of one file (repeatable)."`
	Layout   string   `default:"file" enum:"file,key" help:"file: one secret per file, a field per key; key: one secret per key (PATH/KEY, field 'value')."`
	Rename   []string `sep:"none" placeholder:"OLD=NEW" help:"Store key OLD under the name NEW (repeatable)."`
	Only     []string `sep:"none" placeholder:"GLOB" help:"Import only keys matching GLOB (repeatable)."`
	Skip     []string `sep:"none" placeholder:"GLOB" help:"Leave keys matching GLOB alone (repeatable)."`
	Update   bool     `help:"Replace fields that hold another value (default: create only)."`
	Workers  int      `name:"workers" aliases:"concurrency" env:"VAULTPIPE_WORKERS" default:"32" help:"Requests to Vault in flight."`
}

type planCmd struct {
	selection
}

type applyCmd struct {
	selection
	Plan       string `name:"plan" placeholder:"FILE" help:"Carry out this plan (printed by env-import plan; - reads it on stdin) instead of planning afresh."`
	Rewrite    bool   `xor:"rewrite" help:"Replace each verified value in its .env file with a vault: reference."`
	Remove     bool   `xor:"rewrite" help:"Remove each verified key from its .env file."`
	KeepBackup bool   `name:"keep-backup" help:"Keep the 0600 copy of each rewritten file."`
}

type cli struct {
	Plan  planCmd  `cmd:"" help:"Print what apply would do, as JSON."`
	Apply applyCmd `cmd:"" help:"Write the values to Vault, verify them, and optionally rewrite the files."`

	Vault vaultclient.Flags `embed:""`
}

func main() { command.Main(command.Program{Name: name, Description: description, Grammar: &cli{}}) }

const description = `Move .env values into Vault KV v2 and rewrite the files to references.
Output: one JSON document (format, items, summary, files); values appear
only as length and a per-run HMAC.

Exit status:
  0  done (plan: nothing in conflict)
  1  failure: unreadable or malformed input, Vault unreachable, a read-back mismatch
  2  usage error
  3  some keys are in conflict (the others were done); see the report
  4  Vault is sealed; nothing was written or rewritten
  5  Vault is not initialised; nothing was written or rewritten
  6  permission denied; nothing was rewritten

Example:
  env-scan . | env-import plan --from-scan > plan.json
  env-import apply --plan plan.json --rewrite`

func (c *planCmd) Run(env *command.Env) error {
	batch, _, err := c.load(env, "")
	if err != nil {
		return err
	}
	doc := batch.Plan()
	if err := env.Answer(doc, nil); err != nil {
		return err
	}
	if doc.HasConflicts() {
		return fault.WithHint(fault.Errorf(fault.Contested, "some keys are in conflict; see the plan's reasons"), "resolve them, or plan with --update to replace values that differ")
	}
	return nil
}

func (c *applyCmd) Run(env *command.Env) error {
	batch, in, err := c.load(env, c.Plan)
	if err != nil {
		return err
	}
	if in.Plan != nil {
		batch.Hold(in.Plan)
	}
	vc, _ := env.Vault()
	doc, err := batch.Apply(env.Context(), vc, importer.ApplyOptions{
		Concurrency: c.Workers, Rewrite: c.Rewrite, Remove: c.Remove, KeepBackup: c.KeepBackup,
	})
	if err := env.Answer(doc, err); err != nil {
		return err
	}
	if doc.HasConflicts() {
		return fault.WithHint(fault.Errorf(fault.Contested, "some keys are in conflict and were not written; the others were"), "see the report's reasons; plan again after resolving them")
	}
	return nil
}

// load reads the .env files (and the plan file, for apply) and what Vault
// holds for them.
func (sel *selection) load(env *command.Env, planFile string) (*importer.Batch, *importer.Input, error) {
	req := importer.Request{
		Files: sel.Files, Mount: sel.Mount, Template: sel.Path, App: sel.App, Env: sel.Env,
		Maps: sel.Map, Renames: sel.Rename, Layout: importer.Layout(sel.Layout),
		Only: sel.Only, Skip: sel.Skip, Update: sel.Update, Concurrency: sel.Workers,
		PlanFile: planFile, Stdin: env.Stdin,
	}
	if sel.FromScan {
		req.Scan = env.Stdin
	}
	in, err := req.Resolve()
	if err != nil {
		return nil, nil, err
	}
	batch, err := importer.Load(in.Sources, in.Targets, in.Options)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range batch.Warnings {
		env.Warnf("%s", w)
	}
	vc, err := env.Vault(vaultclient.Options{Concurrency: sel.Workers})
	if err != nil {
		return nil, nil, err
	}
	if err := batch.Observe(env.Context(), vc, in.Options); err != nil {
		return nil, nil, err
	}
	return batch, in, nil
}
