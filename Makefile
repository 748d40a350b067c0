# credres: credential resilience for Microsoft Entra ID.
# `make demo` and `make test` are all a fresh machine needs (see README.md).

SHELL := /bin/bash
GO    ?= go
BIN   := bin

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the credres CLI into bin/
	$(GO) build -o $(BIN)/credres ./cmd/credres

.PHONY: demo
demo: build ## Assess the sample tenant, ask what outages would do, then run the pipeline locally
	@echo "== credres assess --directory events/tenant.json"
	@$(BIN)/credres assess --directory events/tenant.json
	@echo
	@echo "== credres whatif --directory events/tenant.json --down phone-carrier"
	@$(BIN)/credres whatif --directory events/tenant.json --down phone-carrier
	@echo
	@echo "== credres explain --directory events/tenant.json --user adele.vance@contoso.example"
	@$(BIN)/credres explain --directory events/tenant.json --user adele.vance@contoso.example
	@echo
	@rm -rf .credres/demo
	@echo "== credres demo: the sample audit events through ingest -> evaluate -> nudge/ticket"
	@$(BIN)/credres demo --state .credres/demo
	@echo
	@echo "== credres demo again: the same events send nothing new"
	@$(BIN)/credres demo --state .credres/demo
	@echo
	@echo "== credres demo --directory events/tenant-after.json: the users changed their methods"
	@$(BIN)/credres demo --state .credres/demo --directory events/tenant-after.json
	@echo
	@echo "Delivered messages: .credres/demo/outbox/nudges.jsonl and tickets.jsonl"

.PHONY: test
test: ## Run every test (vet included)
	$(GO) vet ./...
	$(GO) test -count=1 ./...

.PHONY: golden
golden: ## Rewrite golden files after an intended change (review the diff!)
	$(GO) test ./... -run 'Golden' -update

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: bench
bench: ## Run the benchmarks behind docs/PERFORMANCE.md
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/rules/ ./pkg/model/ ./cmd/credres/

.PHONY: clean
clean: ## Remove build output and local state
	rm -rf $(BIN) .credres
