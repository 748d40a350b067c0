# credres: credential resilience for Microsoft Entra ID.
# `make demo` and `make test` are all a fresh machine needs (see README.md).

SHELL := /bin/bash

# The one approved Go newer than the machines' go1.26.8: the go command fetches it from the
# module proxy. It is free of the 2026 standard-library advisories that go1.26.8 carries.
export GOTOOLCHAIN := go1.27.3
GO    ?= go
BIN   := bin

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  %-24s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
# The release `credres --version` prints: the git tag or commit.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)

build: ## Build the credres CLI into bin/ (credres --version prints the git describe of the checkout)
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/credres ./cmd/credres

.PHONY: demo
demo: build ## Assess the sample tenant, ask what outages would do, then run the pipeline locally on the sample audit events and sign-ins
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
	@echo "== credres demo: the sample audit events and sign-ins through ingest -> evaluate -> nudge/ticket"
	@$(BIN)/credres demo --state .credres/demo
	@echo
	@echo "== credres demo again: the same events send nothing new"
	@$(BIN)/credres demo --state .credres/demo
	@echo
	@echo "== credres demo --directory events/tenant-after.json: the users changed their methods"
	@$(BIN)/credres demo --state .credres/demo --directory events/tenant-after.json
	@echo
	@rm -rf .credres/demo-proof
	@echo "== credres demo --policy events/policy-proof.yaml --now 2025-03-19T18:00:00Z --quiet: the same events on the day of the"
	@echo "   sample sign-ins, paths judged by them (proofWindow 90d): users compliant only through unproven methods are asked to try them"
	@$(BIN)/credres demo --state .credres/demo-proof --policy events/policy-proof.yaml --now 2025-03-19T18:00:00Z --quiet
	@echo
	@echo "== credres demo: a change of the tenant's own policy (Conditional Access now asks everyone for phishing-resistant MFA)"
	@rm -rf .credres/demo-policy
	@$(BIN)/credres demo --state .credres/demo-policy --policy events/policy-example.yaml --events none --sweep --baseline --now 2026-11-30T09:00:00Z --quiet
	@$(BIN)/credres demo --state .credres/demo-policy --policy events/policy-example.yaml --directory events/tenant-policy-change.json \
		--events events/policy-changes/eventhub-update-conditional-access-policy.json --now 2026-12-01T10:00:00Z --quiet
	@echo "== credres demo four days later: the grace period is over, users still below policy are nudged"
	@$(BIN)/credres demo --state .credres/demo-policy --policy events/policy-example.yaml --directory events/tenant-policy-change.json \
		--events none --now 2026-12-05T10:00:00Z --quiet
	@echo
	@echo "Delivered messages: .credres/demo/outbox/, .credres/demo-proof/outbox/ and .credres/demo-policy/outbox/ (nudges.jsonl and tickets.jsonl)"

.PHONY: test
test: lint ## Run the checks of `make lint`, then every test, starting local DynamoDB and SQS servers on 127.0.0.1
	scripts/testdeps.sh
	scripts/testservers.sh install
	trap 'scripts/testservers.sh stop' EXIT; \
	  scripts/testservers.sh start && \
	  set -a && . .cache/testservers/env && set +a && \
	  $(GO) test -count=1 ./...

.PHONY: soak
soak: ## The fault-injection soak (docs/TESTING.md) against local DynamoDB and SQS; SOAK_FLAGS="-soak.full -soak.seed N"
	scripts/testservers.sh install
	trap 'scripts/testservers.sh stop' EXIT; \
	  scripts/testservers.sh start && \
	  set -a && . .cache/testservers/env && set +a && \
	  $(GO) test -count=1 -timeout 60m -run TestSoak -v ./internal/soak/ -soak.run $(SOAK_FLAGS)

.PHONY: golden
golden: ## Rewrite golden files after an intended change (review the diff!)
	$(GO) test ./pkg/rules ./pkg/entralog ./pkg/notify ./pkg/report ./cmd/credres -run 'Golden' -update
	$(GO) test ./pkg/wiring -update

# The checks of `make lint`, in order; each is a target of its own. A new check is one more
# target and one more name here.
LINTERS := gofmt vet staticcheck vulncheck

# staticcheck at a pinned release, built by the go command from the module proxy.
STATICCHECK_VERSION := v0.8.2

.PHONY: lint
lint: $(LINTERS) ## gofmt, go vet, staticcheck and govulncheck: each runs as its own target too

.PHONY: gofmt
gofmt: ## Go files gofmt would change (none, or it fails)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet: ## go vet over every package
	$(GO) vet ./...

.PHONY: staticcheck
staticcheck: ## staticcheck (honnef.co/go/tools, pinned) over every package
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

.PHONY: vulncheck
vulncheck: ## Known vulnerabilities reachable from the code (offline database from the Go module proxy)
	GO=$(GO) scripts/vulncheck.sh

.PHONY: bench
bench: ## Run the benchmarks behind docs/PERFORMANCE.md
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/rules/ ./pkg/entralog/ ./cmd/credres/

# Tenant sizes of bench-scale; BEFORE=<credres binary of an older commit> compares it in the same run.
SCALE_USERS ?= 1000,10000,100000,1000000
BEFORE ?=

.PHONY: bench-scale
bench-scale: build ## Offline commands on generated tenants of 1k to 1M users: time, peak memory, ratios to the floor (docs/PERFORMANCE.md)
	$(GO) run ./scripts/benchscale -credres $(BIN)/credres -users $(SCALE_USERS) $(if $(BEFORE),-before $(BEFORE))

# ---- Deploying (docs/DEPLOY.md) ------------------------------------------------
SAMCONFIG ?= samconfig.toml

.PHONY: deploy
deploy: ## Deploy the AWS side: checks samconfig.toml (copy samconfig.toml.example), then sam build + sam deploy; DRY_RUN=1 only prints
	$(GO) run ./infra/deploy aws --config $(SAMCONFIG) $(if $(DRY_RUN),--dry-run)

.PHONY: deploy-azure
deploy-azure: ## Deploy the Azure side: Graph permissions, infra/main.bicep, diagnostic setting (RESOURCE_GROUP= LOCATION= NAMESPACE= APP_ID=|APP_NAME= [RECEIVER=] [DRY_RUN=1])
	$(GO) run ./infra/deploy azure --resource-group "$(RESOURCE_GROUP)" --location "$(LOCATION)" --namespace "$(NAMESPACE)" \
	  $(if $(APP_ID),--app-id "$(APP_ID)") $(if $(APP_NAME),--create-app "$(APP_NAME)") \
	  $(if $(RECEIVER),--receiver-principal-id "$(RECEIVER)") $(if $(DRY_RUN),--dry-run)

.PHONY: clean
clean: ## Remove build output and local state
	rm -rf $(BIN) .credres

# ---- Lambda functions (template.yaml) ---------------------------------------
# `sam build` runs build-<LogicalId> for each function (Metadata: BuildMethod:
# makefile) with ARTIFACTS_DIR set; each writes one static linux/arm64
# `bootstrap` for the provided.al2023 runtime.

LAMBDA_FUNCTIONS := ingest evaluate nudge ticket sweep
LAMBDA_BUILD     := GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w'
LAMBDA_ARTIFACTS := test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: sam build sets it" >&2; exit 1; }

.PHONY: build-IngestFunction build-EvaluateFunction build-NudgeFunction build-TicketFunction build-SweepFunction
build-IngestFunction: ## SAM: the ingest bootstrap (linux/arm64) into $(ARTIFACTS_DIR)
	@$(LAMBDA_ARTIFACTS)
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/ingest

build-EvaluateFunction: ## SAM: the evaluate bootstrap (linux/arm64) into $(ARTIFACTS_DIR)
	@$(LAMBDA_ARTIFACTS)
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/evaluate

build-NudgeFunction: ## SAM: the nudge bootstrap (linux/arm64) into $(ARTIFACTS_DIR)
	@$(LAMBDA_ARTIFACTS)
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/nudge

build-TicketFunction: ## SAM: the ticket bootstrap (linux/arm64) into $(ARTIFACTS_DIR)
	@$(LAMBDA_ARTIFACTS)
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/ticket

build-SweepFunction: ## SAM: the sweep bootstrap (linux/arm64) into $(ARTIFACTS_DIR)
	@$(LAMBDA_ARTIFACTS)
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/sweep

.PHONY: bootstraps
bootstraps: ## Build the five Lambda bootstraps for this machine into bin/lambda/<name>/bootstrap
	@for fn in $(LAMBDA_FUNCTIONS); do \
		echo "$(GO) build -tags lambda.norpc -o $(BIN)/lambda/$$fn/bootstrap ./functions/$$fn"; \
		CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -o $(BIN)/lambda/$$fn/bootstrap ./functions/$$fn || exit 1; \
	done
