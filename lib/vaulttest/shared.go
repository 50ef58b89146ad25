package vaulttest

import (
	"os"
	"reflect"
	"sync"
	"testing"
)

var (
	sharedMu   sync.Mutex
	shared     *Server
	sharedOpts Options
	sharedErr  error
)

// Shared returns the one server of a test binary for the tests that can
// share it (each uses its own paths): started on first use with o, and
// stopped by Main. Every caller must ask for the same options. Under
// -short the test is skipped.
func Shared(t testing.TB, o ...Options) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real Vault server")
	}
	var want Options
	if len(o) > 0 {
		want = o[0]
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		sharedOpts = want
		shared, sharedErr = Launch(want)
	}
	if sharedErr != nil {
		t.Fatalf("starting the shared vault: %v", sharedErr)
	}
	if !reflect.DeepEqual(want, sharedOpts) {
		t.Fatalf("vaulttest.Shared(%+v): the shared server was started with %+v", want, sharedOpts)
	}
	return shared
}

// Main runs a package's tests, then stops every server they started (the
// shared one too) and exits with their status:
//
//	func TestMain(m *testing.M) { vaulttest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	KillAll()
	os.Exit(code)
}
