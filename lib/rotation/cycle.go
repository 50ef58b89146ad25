package rotation

import (
	"context"
	"errors"
	"strings"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

// CycleOptions select what a Cycle does.
type CycleOptions struct {
	// Path rotates this secret or database path now, due or not; empty:
	// every due target and every database.
	Path   string
	DryRun bool
	// MetricsFile, when set (and not a dry run), receives the run's
	// textfile metrics.
	MetricsFile string
}

// Cycle is one vault-rotate run: the databases' static roles (unless a
// path is given), then every due secret (or the one path), then, for a
// path that names a database, that database. Each result (a DBResult or a
// Result) goes to emit as soon as it is known; an error of emit stops the
// cycle.
func (e *Engine) Cycle(ctx context.Context, opts CycleOptions, emit func(any) error) error {
	var dbErr error
	if opts.Path == "" {
		dbResults, err := e.Databases(ctx, opts.DryRun)
		for _, r := range dbResults {
			if werr := emit(r); werr != nil {
				return werr
			}
		}
		dbErr = err
	}
	var targets []*Target
	if opts.Path == "" || e.Policy.Match(strings.Trim(opts.Path, "/")) != nil || e.Policy.DatabaseByPath(opts.Path) == nil {
		var err error
		if targets, err = e.Targets(ctx, opts.Path); err != nil {
			return err
		}
	}
	results, runErr := e.Run(ctx, targets, RunOptions{Path: opts.Path, DryRun: opts.DryRun})
	for _, r := range results {
		if err := emit(r); err != nil {
			return err
		}
	}
	if d := e.Policy.DatabaseByPath(opts.Path); opts.Path != "" && d != nil {
		r, err := e.rotateDatabaseNow(ctx, d, opts.DryRun)
		if werr := emit(r); werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
	}
	if opts.MetricsFile != "" && !opts.DryRun {
		if err := e.WriteMetrics(ctx, opts.MetricsFile, results, runErr != nil || dbErr != nil); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	return dbErr
}

// rotateDatabaseNow rotates d at once, due or not.
func (e *Engine) rotateDatabaseNow(ctx context.Context, d *Database, dryRun bool) (DBResult, error) {
	if d.Strategy != "static" {
		return e.Alternate(ctx, d, true, dryRun)
	}
	if dryRun {
		return DBResult{Database: d.Name, Role: d.Name, Action: "would_rotate"}, nil
	}
	return e.RotateStatic(ctx, d)
}

// WriteMetrics writes the textfile metrics of a run that gave results:
// every target's due date, and the run's outcome (failed: the run failed
// as a whole, even with no result to show for it).
func (e *Engine) WriteMetrics(ctx context.Context, file string, results []Result, failed bool) error {
	targets, err := e.Targets(ctx, "")
	if err != nil {
		return err
	}
	m := &Metrics{Results: results, RunAt: e.now().UTC(), LastSuccess: LastSuccess(file)}
	if failed && len(results) == 0 {
		m.Results = []Result{{Action: "failed"}}
	}
	for _, t := range targets {
		m.Due = append(m.Due, e.Due(t))
	}
	if err := m.WriteFile(file); err != nil {
		return fault.New(fault.Unknown, "writing metrics", file, errors.Unwrap(err))
	}
	return nil
}
