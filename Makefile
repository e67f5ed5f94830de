# breakerbox — run `make` (or `make help`) for the list of targets.
SHELL := /bin/bash
GO ?= go
PKGS := ./...
BIN := bin

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install moto_server (the local AWS APIs) when it is missing
	@command -v moto_server >/dev/null 2>&1 || { \
		echo "moto_server not found: installing moto[server] with pip"; \
		python3 -m pip install --quiet "moto[server]" || { echo 'install it by hand: pip install "moto[server]"'; exit 1; }; }

.PHONY: build
build: ## Build every binary into bin/
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: test
test: deps vet ## Run every test with the race detector (starts moto_server itself)
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

.PHONY: race
race: deps ## Run the tests with the race detector, three times over
	$(GO) test -race -count=3 -timeout 60m $(PKGS)

.PHONY: vet
vet: ## go vet
	$(GO) vet $(PKGS)

.PHONY: lint
lint: vet ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi

.PHONY: fmt
fmt: ## Format the code
	gofmt -w $$(git ls-files '*.go')

.PHONY: clean
clean: ## Remove build output
	rm -rf $(BIN) out layer/build layer/*.zip

.PHONY: sim
sim: ## Run the batch-size simulator: table on stdout, out/sim/results.json and out/sim/batchsize.svg
	$(GO) run ./cmd/sim -out out/sim

.PHONY: bench
bench: deps ## Benchmark the extension: cache-hit GET vs bare net/http, DynamoDB reads per TTL, start-up, RSS, size
	$(GO) run ./extension/internal/bench
