package scan

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/vaultpipe/vaultpipe/lib/jsonout"
)

// WriteJSONLines writes one JSON object per finding.
func WriteJSONLines(w io.Writer, findings []Finding) error {
	out := jsonout.NewLines(w)
	for _, f := range findings {
		if err := out.Write(f); err != nil {
			return err
		}
	}
	return nil
}

// WriteTable writes an aligned table for people, with a summary line.
func WriteTable(w io.Writer, findings []Finding) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOCATION\tKIND\tRULE\tNAME\tCONFIDENCE")
	for _, f := range findings {
		name := f.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s:%d:%d\t%s\t%s\t%s\t%s\n", f.File, f.Line, f.Column, f.Kind, f.Rule, name, f.Confidence)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d finding(s)\n", len(findings))
	return err
}

// SARIF 2.1.0, the subset code scanning services read.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool        sarifTool         `json:"tool"`
		Results     []sarifResult     `json:"results"`
		ColumnKind  string            `json:"columnKind"`
		Invocations []sarifInvocation `json:"invocations"`
	}
	sarifInvocation struct {
		ExecutionSuccessful        bool                `json:"executionSuccessful"`
		ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications"`
	}
	sarifNotification struct {
		Level     string          `json:"level"`
		Message   sarifMessage    `json:"message"`
		Locations []sarifLocation `json:"locations,omitempty"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		InformationURI string      `json:"informationUri,omitempty"`
		Version        string      `json:"version,omitempty"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID               string       `json:"id"`
		ShortDescription sarifMessage `json:"shortDescription"`
		Properties       sarifProps   `json:"properties"`
	}
	sarifProps struct {
		Tags []string `json:"tags"`
	}
	sarifMessage struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             sarifMessage      `json:"message"`
		Locations           []sarifLocation   `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Properties          map[string]string `json:"properties"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	}
)

// SARIFSchema is the schema URI written into SARIF reports.
const SARIFSchema = "https://json.schemastore.org/sarif-2.1.0.json"

// WriteSARIF writes one SARIF 2.1.0 log. Messages name the rule and the
// variable, never the value. notes (lines skipped, files not fully scanned)
// and errs (files not scanned) go into the run's invocation as tool
// execution notifications.
func WriteSARIF(w io.Writer, tool, version string, findings []Finding, notes []Notice, errs []error) error {
	ruleIdx := map[string]int{}
	var rules []sarifRule
	ids := make([]string, 0)
	desc := map[string]string{}
	kinds := map[string]Kind{}
	for _, f := range findings {
		if _, ok := desc[f.Rule]; !ok {
			ids = append(ids, f.Rule)
			desc[f.Rule] = f.description
			kinds[f.Rule] = f.Kind
		}
	}
	sort.Strings(ids)
	for i, id := range ids {
		ruleIdx[id] = i
		d := desc[id]
		if d == "" {
			d = id
		}
		tags := []string{"security", "secret"}
		if kinds[id] != KindSecret {
			tags = append(tags, string(kinds[id]))
		}
		rules = append(rules, sarifRule{ID: id, ShortDescription: sarifMessage{Text: d}, Properties: sarifProps{Tags: tags}})
	}
	results := make([]sarifResult, 0, len(findings))
	for _, f := range findings {
		msg := fmt.Sprintf("%s (%s confidence)", strings.TrimSuffix(desc[f.Rule], "."), f.Confidence)
		if desc[f.Rule] == "" {
			msg = fmt.Sprintf("%s (%s confidence)", f.Rule, f.Confidence)
		}
		if f.Name != "" {
			msg += " in " + f.Name
		}
		results = append(results, sarifResult{
			RuleID: f.Rule, RuleIndex: ruleIdx[f.Rule], Level: sarifLevel(f.Confidence),
			Message: sarifMessage{Text: msg},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: sarifURI(f.File)},
				Region:           &sarifRegion{StartLine: max(f.Line, 1), StartColumn: max(f.Column, 1)},
			}}},
			PartialFingerprints: map[string]string{"envScanFingerprint/v1": f.Fingerprint},
			Properties:          map[string]string{"kind": string(f.Kind), "name": f.Name, "confidence": string(f.Confidence)},
		})
	}
	if rules == nil {
		rules = []sarifRule{}
	}
	inv := sarifInvocation{ExecutionSuccessful: len(errs) == 0, ToolExecutionNotifications: []sarifNotification{}}
	for _, e := range errs {
		n := sarifNotification{Level: "error", Message: sarifMessage{Text: e.Error()}}
		var fe *FileError
		if errors.As(e, &fe) {
			n.Message.Text = "not scanned: " + fe.Err.Error()
			n.Locations = []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(fe.Path)}}}}
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, n)
	}
	for _, note := range notes {
		loc := sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(note.File)}}
		if note.Line > 0 {
			loc.Region = &sarifRegion{StartLine: note.Line}
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level: "warning", Message: sarifMessage{Text: note.Message}, Locations: []sarifLocation{{PhysicalLocation: loc}},
		})
	}
	log := sarifLog{
		Schema:  SARIFSchema,
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:        sarifTool{Driver: sarifDriver{Name: tool, Version: version, InformationURI: "https://github.com/vaultpipe/vaultpipe", Rules: rules}},
			Results:     results,
			ColumnKind:  "unicodeCodePoints",
			Invocations: []sarifInvocation{inv},
		}},
	}
	return jsonout.Write(w, log)
}

func sarifLevel(c Confidence) string {
	switch c {
	case High:
		return "error"
	case Medium:
		return "warning"
	case Low:
		return "note"
	}
	return "none"
}

// sarifURI percent-encodes what a relative URI reference cannot hold.
func sarifURI(p string) string {
	p = strings.TrimPrefix(p, "./")
	var b strings.Builder
	if strings.HasPrefix(p, "/") {
		b.WriteString("file://")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/!$&'()*+,;=:@", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
