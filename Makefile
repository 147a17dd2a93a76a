# Hubkeeper. `make dev` brings the whole system up; `make test` runs every test.
GO       ?= go
BIN      := $(CURDIR)/.bin
TEMPORAL := $(BIN)/temporal
WORKFLOWCHECK := $(BIN)/workflowcheck
TEMPORAL_CLI_VERSION := v1.5.1
WORKFLOWCHECK_VERSION := v0.6.0

.PHONY: dev prerequisites test check bench tools build clean-data

## dev: start Postgres, Temporal (with web UI), the sandbox, worker and API; seed a demo
dev: prerequisites $(TEMPORAL)
	$(GO) run ./cmd/hubkeeper dev

## prerequisites: check, before building or starting anything, that this machine has what dev needs
prerequisites:
	@command -v $(GO) >/dev/null || { echo "Go 1.26 or newer is needed: install it from https://go.dev/dl"; exit 1; }
	@$(GO) run ./cmd/hubkeeper prerequisites

## test: formatting, vet, workflowcheck, then every test (needs PostgreSQL server binaries)
test: check
	$(GO) test -count=1 -timeout 30m ./...

check: $(WORKFLOWCHECK) $(TEMPORAL)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(WORKFLOWCHECK) ./...

## bench: benchmarks that print their figures
bench: $(TEMPORAL)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./...

build:
	$(GO) build -o $(BIN)/hubkeeper ./cmd/hubkeeper

tools: $(TEMPORAL) $(WORKFLOWCHECK)

# The Temporal CLI (dev server + web UI). Reuses one already installed; a fresh
# build takes about 7 minutes.
$(TEMPORAL):
	@mkdir -p $(BIN)
	@existing=$$(command -v temporal || ls "$$($(GO) env GOPATH)/bin/temporal" 2>/dev/null || true); \
	if [ -n "$$existing" ] && "$$existing" --version | grep -q "Server 1.29"; then ln -sf "$$existing" $@; \
	else echo "building the Temporal CLI $(TEMPORAL_CLI_VERSION) (about 7 minutes)"; \
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION); fi

$(WORKFLOWCHECK):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

## clean-data: forget the dev stack's state (.data/)
clean-data:
	rm -rf .data
