package rotation

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// HookRequest is what a hook reads on stdin, as one JSON document.
type HookRequest struct {
	Action       string `json:"action"` // generate, set, test, rollback
	Path         string `json:"path"`
	Key          string `json:"key"`
	Value        string `json:"value,omitempty"`         // the new value (set, test) or the restored one (rollback)
	CurrentValue string `json:"current_value,omitempty"` // the value in use before this rotation
	Username     string `json:"username,omitempty"`      // database credentials
	RotationID   string `json:"rotation_id"`
}

// HookAnswer is the JSON line a hook prints on stdout.
type HookAnswer struct {
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
	Value   string `json:"value,omitempty"` // generate only
}

// HookError is a hook that failed, timed out or answered not ok. Its
// message never holds a value: only the hook's own message, truncated.
type HookError struct {
	Action  string
	Command string
	Reason  string
}

func (e *HookError) Error() string {
	return fmt.Sprintf("%s hook %s: %s", e.Action, e.Command, e.Reason)
}

// hookEnv is the whole environment of a hook: no Vault token, no value.
func hookEnv() []string {
	env := []string{"PATH=" + os.Getenv("PATH")}
	if env[0] == "PATH=" {
		env[0] = "PATH=/usr/local/bin:/usr/bin:/bin"
	}
	for _, k := range []string{"LANG", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, "VAULT_ROTATE_HOOK=1")
}

// RunHook runs h with req on stdin and returns its answer. A hook that runs
// past its timeout is killed with its process group.
func RunHook(ctx context.Context, h *Hook, req HookRequest) (*HookAnswer, error) {
	name := h.Command[0]
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
	cmd.Env = hookEnv()
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limitedBuffer{buf: &stdout, max: 64 << 10}
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 4 << 10}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	runErr := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return nil, &HookError{Action: req.Action, Command: name, Reason: fmt.Sprintf("timed out after %s and was killed", timeout)}
	}
	var ans HookAnswer
	line := firstJSONLine(stdout.Bytes())
	parseErr := errors.New("no JSON answer on stdout")
	if line != nil {
		parseErr = json.Unmarshal(line, &ans)
	}
	if runErr != nil {
		var ee *exec.ExitError
		reason := runErr.Error()
		if errors.As(runErr, &ee) {
			reason = fmt.Sprintf("exited with status %d", ee.ExitCode())
		}
		if parseErr == nil && ans.Message != "" {
			reason += ": " + clip(ans.Message)
		}
		return nil, &HookError{Action: req.Action, Command: name, Reason: reason}
	}
	if parseErr != nil {
		return nil, &HookError{Action: req.Action, Command: name, Reason: "answered no JSON line {\"ok\": true}"}
	}
	if !ans.OK {
		reason := "answered ok=false"
		if ans.Message != "" {
			reason += ": " + clip(ans.Message)
		}
		return nil, &HookError{Action: req.Action, Command: name, Reason: reason}
	}
	return &ans, nil
}

func firstJSONLine(b []byte) []byte {
	for _, l := range bytes.Split(b, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] == '{' {
			return l
		}
	}
	return nil
}

func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		if len(p) > room {
			l.buf.Write(p[:room])
		} else {
			l.buf.Write(p)
		}
	}
	return len(p), nil
}

// Generate makes a new value for r: random characters drawn uniformly from
// the alphabet with at least one of each required class, or the value the
// generate command answers.
func Generate(ctx context.Context, r *Rule, req HookRequest) (string, error) {
	g := r.Generate
	if g.Command != nil {
		req.Action = "generate"
		ans, err := RunHook(ctx, g.Command, req)
		if err != nil {
			return "", err
		}
		if ans.Value == "" {
			return "", &HookError{Action: "generate", Command: g.Command.Command[0], Reason: "answered no value"}
		}
		return ans.Value, nil
	}
	return RandomString(g.Length, g.Alphabet, g.Require)
}

// RandomString draws length characters from alphabet with crypto/rand,
// redrawing until every class in require appears.
func RandomString(length int, alphabet string, require []string) (string, error) {
	if length <= 0 || len(alphabet) < 2 {
		return "", errors.New("generator needs a length and an alphabet of 2 or more characters")
	}
	max := big.NewInt(int64(len(alphabet)))
	buf := make([]byte, length)
	for attempt := 0; attempt < 1000; attempt++ {
		for i := range buf {
			n, err := rand.Int(rand.Reader, max)
			if err != nil {
				return "", err
			}
			buf[i] = alphabet[n.Int64()]
		}
		ok := true
		for _, c := range require {
			if !bytes.ContainsAny(buf, classSets[c]) {
				ok = false
				break
			}
		}
		if ok {
			return string(buf), nil
		}
	}
	return "", errors.New("could not draw a value with every required character class")
}
