# The two commands: `make dev` (the whole API locally) and `make test` (the whole suite).
# Each installs the pinned tools it needs (infra/package-lock.json, infra/requirements.txt).

SHELL := /bin/bash
INFRA := infra
VENV := $(INFRA)/.venv/bin
EMAIL ?= admin@acme.test

.PHONY: dev test test-browser import-convex token setup lint build package deploy billing-event sync bench fuzz

setup:
	@$(INFRA)/scripts/setup.sh

## make dev: DynamoDB Local, the WorkOS emulator with demo users, and every route on $PORT (9000).
dev: setup
	@$(INFRA)/scripts/dev.sh

## make token EMAIL=admin@acme.test: an access token for a demo user of the running `make dev`.
token:
	@WORKOS_API_URL=$${WORKOS_API_URL:-http://127.0.0.1:4100} WORKOS_CLIENT_ID=$${WORKOS_CLIENT_ID:-client_local_dev} \
		$(INFRA)/scripts/token.sh "$(EMAIL)" $(if $(ORG),"$(ORG)")

## make import-convex SNAPSHOT=export.zip [APPLY=1] [FIELDS=map.json]: the Convex import against the
## running `make dev` (a dry run; APPLY=1 writes). docs/import.md; deployed: the convex-import binary.
import-convex:
	@test -n "$(SNAPSHOT)" || { echo "usage: make import-convex SNAPSHOT=<export.zip> [APPLY=1] [FIELDS=map.json]" >&2; exit 2; }
	@$(INFRA)/scripts/import-convex.sh "$(SNAPSHOT)" $(if $(APPLY),--apply) $(if $(FIELDS),--fields "$(FIELDS)")

## make billing-event EVENT=subscription_created: posts a signed example event to `make dev`.
billing-event:
	@WORKOS_API_URL=$${WORKOS_API_URL:-http://127.0.0.1:4100} WORKOS_CLIENT_ID=$${WORKOS_CLIENT_ID:-client_local_dev} \
		$(INFRA)/scripts/billing-event.sh "$(EVENT)" $(if $(EMAIL_SET),"$(EMAIL)")

## make sync: runs the workos-sync job once on the running `make dev` and prints its report.
sync:
	@curl -sS -X POST http://127.0.0.1:$${PORT:-9000}/_local/invoke/workos-sync; echo

## make bench: release builds of every function and the floor, then every figure of
## docs/benchmarks.md and its chart, regenerated (infra/bench/run.sh; about 35 minutes: 10 to build,
## 10 on the harness, 5 for criterion, 5 to set up and run the 10,000-membership sync).
BENCH_TARGET ?= target/bench
FUNCTION_BINS := $(foreach f,$(notdir $(wildcard functions/*)),--bin $(f))
bench: setup
	CARGO_TARGET_DIR=$(BENCH_TARGET) cargo build --release $(FUNCTION_BINS) --bin bench-floor
	BIN_DIR=$(BENCH_TARGET)/release $(INFRA)/scripts/services.sh $(INFRA)/bench/run.sh

## make fuzz: every fuzz target for FUZZ_RUNS executions (default 1,000,000) with libFuzzer
## (cargo fuzz on nightly Rust), growing fuzz/corpus/ (figures: docs/reliability.md).
FUZZ_RUNS ?= 1000000
fuzz:
	$(INFRA)/scripts/fuzz.sh $(FUZZ_RUNS)

## make lint: formatting, the SAM template and the OpenAPI document (as `make test` checks them).
lint: setup
	cargo fmt --all -- --check
	$(VENV)/cfn-lint template.yaml
	$(INFRA)/.venv-checkov/bin/checkov --config-file .checkov.yaml -f template.yaml
	$(VENV)/openapi-spec-validator docs/openapi.yaml

## make test: the whole suite against DynamoDB Local and the WorkOS emulator, started on free ports.
test: setup
	$(VENV)/cfn-lint template.yaml
	$(INFRA)/.venv-checkov/bin/checkov --config-file .checkov.yaml -f template.yaml
	$(VENV)/openapi-spec-validator docs/openapi.yaml
	cargo fmt --all -- --check
	cd clients/typescript && npm run --silent check-generated && npm test --silent  # types as the document says; unit tests
	cargo build --workspace --bins --quiet  # the function binaries the deployed-path tests run
	$(INFRA)/scripts/services.sh $(INFRA)/scripts/run-tests.sh
	$(INFRA)/scripts/dev.sh npm --prefix clients/typescript run --silent test:stack  # the client against a fresh local stack

## make test-browser: the TypeScript client's example page in headless Chromium (Debian's
## `chromium`, installed when missing and root) against a fresh local stack; screenshots in infra/.run/.
test-browser: setup
	$(INFRA)/scripts/ensure-chromium.sh
	$(INFRA)/scripts/dev.sh npm --prefix clients/typescript run --silent test:browser

## make build [ARCH=arm64|x86_64]: every function, one cargo lambda build, as Lambda zips in
## target/lambda/<function>/bootstrap.zip (arm64 by default; says how to add a missing target).
ARCH ?= arm64
build: setup
	$(INFRA)/scripts/build.sh $(ARCH)

## make package [ARCH=...]: make build, then `sam build` into .aws-sam/build (deployable).
SAM := SAM_CLI_TELEMETRY=0 $(INFRA)/.venv-sam/bin/sam
package: build
	$(SAM) build --parameter-overrides Architecture=$(ARCH)

## make deploy [ARCH=...] [DEPLOY_ARGS=...]: make package, then `sam deploy` (samconfig.toml;
## shows the change set and asks). Not run by the tests. First deploy: docs/deploy.md.
deploy: package
	$(SAM) deploy $(DEPLOY_ARGS)
