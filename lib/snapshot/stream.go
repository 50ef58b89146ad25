package snapshot

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// The snapshot endpoints stream for as long as the data takes: they go
// through an http.Client without the request timeout the API client sets
// (which would cut a large snapshot off), over the same TLS transport.
func streamClient(vc *vaultclient.Client) *http.Client {
	cfg := vc.CloneConfig()
	return &http.Client{Transport: cfg.HttpClient.Transport, CheckRedirect: cfg.HttpClient.CheckRedirect}
}

func rawRequest(ctx context.Context, vc *vaultclient.Client, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(vc.Address(), "/")+"/v1/"+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Vault-Request", "true")
	if t := vc.Token(); t != "" {
		req.Header.Set("X-Vault-Token", t)
	}
	if ns := vc.Headers().Get("X-Vault-Namespace"); ns != "" {
		req.Header.Set("X-Vault-Namespace", ns)
	}
	resp, err := streamClient(vc).Do(req)
	if err != nil {
		return nil, vc.Classify(err, opName(method), path)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		re := &api.ResponseError{HTTPMethod: method, URL: req.URL.String(), StatusCode: resp.StatusCode}
		var body struct {
			Errors []string `json:"errors"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err == nil {
			re.Errors = body.Errors
		} else {
			re.RawError = true
		}
		return nil, vc.Classify(re, opName(method), path)
	}
	return resp, nil
}

func opName(method string) string {
	if method == http.MethodGet {
		return "reading"
	}
	return "writing"
}

// restoreStream posts a snapshot stream to sys/storage/raft/snapshot, or
// snapshot-force for a snapshot of another cluster.
func restoreStream(ctx context.Context, vc *vaultclient.Client, r io.Reader, force bool) error {
	path := "sys/storage/raft/snapshot"
	if force {
		path = "sys/storage/raft/snapshot-force"
	}
	resp, err := rawRequest(ctx, vc, http.MethodPost, path, io.NopCloser(r))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}
