# breakerbox — run `make` (or `make help`) for the list of targets.
SHELL := /bin/bash
GO ?= go
PKGS := ./...
BIN := bin

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@if [ -t 1 ]; then c='\033[36m' r='\033[0m'; else c= r=; fi; \
	awk -v c="$$c" -v r="$$r" 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %s%-10s%s %s\n", c, $$1, r, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install moto_server (the local AWS APIs) when it is missing
	@command -v moto_server >/dev/null 2>&1 || { \
		echo "moto_server not found: installing moto[server] with pip"; \
		python3 -m pip install --quiet "moto[server]" || { echo 'install it by hand: pip install "moto[server]"'; exit 1; }; }

.PHONY: build
build: ## Build every binary for this machine into bin/ (the Lambda builds are `make package` and `make layer`)
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/... ./checker ./extension ./function/ventilator ./function/worker ./function/orders

# The Middy 5 example's dependencies (@middy/core), exactly as its package-lock.json pins them: the
# client tests run it (go test ./clients/ fails, saying so, without them).
MIDDY_EXAMPLE := function/orders-node-middy
.PHONY: node-deps
node-deps: ## Install the Node example's pinned dependencies (npm ci in function/orders-node-middy)
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: install Node.js 18 or later (it brings npm), then run make node-deps"; exit 1; }
	npm ci --prefix $(MIDDY_EXAMPLE) --no-audit --no-fund --loglevel=error

.PHONY: test
test: deps node-deps vet validate ## Run every test with the race detector (starts moto_server itself)
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

.PHONY: race
race: deps node-deps ## Run the tests with the race detector, three times over
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
	rm -rf $(BIN) out build layer/build layer/*.zip

.PHONY: sim
sim: ## Run the concurrency simulator: table and the sim: line on stdout, out/sim/results.json and out/sim/concurrency.svg (ARGS="-bases 200ms -seeds 5", -h for flags)
	$(GO) run ./cmd/sim -out out/sim $(ARGS)

.PHONY: fleet
fleet: ## Run the fleet simulator: table on stdout (last line fleet: runs=...), out/fleet/results.json, table.md and tripprob.svg (ARGS="-runs 100", -h for flags)
	$(GO) run ./extension/internal/fleet -out out/fleet $(ARGS)

.PHONY: demo
demo: deps ## The whole system on one machine, no AWS account: timeline, summary, out/demo (ARGS="-down 30s", -h for flags)
	@mkdir -p $(BIN)
	@$(GO) build -o $(BIN)/demo ./cmd/demo
	@./$(BIN)/demo $(ARGS)

# --- Lambda builds -------------------------------------------------------------------------------
# Static, stripped Linux binaries; Lambda functions use the lambda.norpc tag (provided.al2023 runs
# bootstrap through the Runtime API, never net/rpc). ARCH picks arm64 (default) or x86_64;
# STRIP= keeps the symbol table (the template test reads it to list each binary's AWS calls).
ARCH ?= arm64
# check-arch stops a build whose ARCH Lambda does not run, rather than build arm64 in its place.
.PHONY: check-arch
check-arch:
	$(if $(filter arm64 x86_64 amd64,$(ARCH)),,$(error ARCH=$(ARCH) is not a Lambda architecture: use ARCH=arm64 (the default) or ARCH=x86_64 (amd64 is taken as x86_64)))
package layer build-CheckerFunction build-VentilatorFunction build-WorkerFunction build-OrdersFunction: check-arch
goarch = $(if $(filter x86_64 amd64,$(1)),amd64,arm64)
STRIP ?= -s -w
lambda_build = CGO_ENABLED=0 GOOS=linux GOARCH=$(call goarch,$(1)) $(GO) build -trimpath -tags lambda.norpc -ldflags='$(STRIP)' -o $(2) $(3)

# `sam build` calls these with ARTIFACTS_DIR set (BuildMethod: makefile in template.yaml).
build-CheckerFunction:
	$(call lambda_build,$(ARCH),$(ARTIFACTS_DIR)/bootstrap,./checker)
build-VentilatorFunction:
	$(call lambda_build,$(ARCH),$(ARTIFACTS_DIR)/bootstrap,./function/ventilator)
build-WorkerFunction:
	$(call lambda_build,$(ARCH),$(ARTIFACTS_DIR)/bootstrap,./function/worker)
build-OrdersFunction:
	$(call lambda_build,$(ARCH),$(ARTIFACTS_DIR)/bootstrap,./function/orders)
# The Python and Node examples need no build: their rule copies the handler (the client is in the layer).
build-OrdersPythonFunction:
	mkdir -p $(ARTIFACTS_DIR) && cp function/orders-python/app.py $(ARTIFACTS_DIR)/
build-OrdersNodeFunction:
	mkdir -p $(ARTIFACTS_DIR) && cp function/orders-node/index.js $(ARTIFACTS_DIR)/
# Each function's twin on Lambda Managed Instances (ExecutionModel managed-instances in
# template.yaml) is the same build.
build-CheckerManagedFunction: build-CheckerFunction
build-VentilatorManagedFunction: build-VentilatorFunction
build-WorkerManagedFunction: build-WorkerFunction
build-OrdersManagedFunction: build-OrdersFunction
build-OrdersPythonManagedFunction: build-OrdersPythonFunction
build-OrdersNodeManagedFunction: build-OrdersNodeFunction
build-BreakerboxLayerArm64:
	$(call lambda_build,arm64,$(ARTIFACTS_DIR)/extensions/breakerbox,./extension)
	$(call layer_clients,$(ARTIFACTS_DIR))
build-BreakerboxLayerX86:
	$(call lambda_build,x86_64,$(ARTIFACTS_DIR)/extensions/breakerbox,./extension)
	$(call layer_clients,$(ARTIFACTS_DIR))

# The layer also carries the Python and Node clients where Lambda looks for them: python/ is on
# PYTHONPATH and nodejs/node_modules on NODE_PATH (https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html).
PY_CLIENT := clients/python/breakerbox
NODE_CLIENT := clients/node/breakerbox
layer_clients = rm -rf $(1)/python $(1)/nodejs && mkdir -p $(1)/python/breakerbox $(1)/nodejs/node_modules/breakerbox && \
	cp $(PY_CLIENT)/*.py $(PY_CLIENT)/py.typed $(1)/python/breakerbox/ && \
	cp $(NODE_CLIENT)/package.json $(NODE_CLIENT)/*.js $(NODE_CLIENT)/index.mjs $(NODE_CLIENT)/index.d.ts $(1)/nodejs/node_modules/breakerbox/

FUNCTIONS := CheckerFunction VentilatorFunction WorkerFunction OrdersFunction

.PHONY: package
package: ## Build every function as build/<Function>/bootstrap (ARCH=arm64|x86_64)
	@for f in $(FUNCTIONS); do $(MAKE) --no-print-directory build-$$f ARTIFACTS_DIR=build/$$f || exit 1; done
	@ls -l build/*/bootstrap

.PHONY: layer
layer: ## Build the layer zips (arm64 and x86_64: the extension, the Python and Node clients) into layer/
	@for a in arm64 x86_64; do \
		rm -rf layer/build/$$a && mkdir -p layer/build/$$a/extensions && \
		$(MAKE) --no-print-directory build-BreakerboxLayer$$( [ $$a = arm64 ] && echo Arm64 || echo X86 ) ARTIFACTS_DIR=layer/build/$$a >/dev/null && \
		chmod 0755 layer/build/$$a/extensions/breakerbox && \
		rm -f layer/breakerbox-$$a.zip && \
		(cd layer/build/$$a && python3 -m zipfile -c ../../breakerbox-$$a.zip extensions/ python/ nodejs/) && \
		printf 'layer/breakerbox-%s.zip  %s bytes zipped (binary %s bytes)\n' $$a \
			$$(stat -c %s layer/breakerbox-$$a.zip) $$(stat -c %s layer/build/$$a/extensions/breakerbox) || exit 1; \
	done

.PHONY: validate
validate: ## Lint template.yaml with cfn-lint, informational checks included (installed with pip when missing)
	@command -v cfn-lint >/dev/null 2>&1 || python3 -m pip install --quiet cfn-lint
	cfn-lint --include-checks I -- template.yaml

.PHONY: deploy
deploy: ## Build with SAM and deploy to your AWS account (needs sam and credentials; not run in CI)
	@command -v sam >/dev/null 2>&1 || { \
		echo "make deploy needs the AWS SAM CLI (sam), which is not on PATH: install it with 'pip install aws-sam-cli'"; \
		echo "or AWS's installer (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html),"; \
		echo "then run make deploy again with AWS credentials set (aws configure, or AWS_PROFILE)"; exit 1; }
	sam build && sam deploy --guided

.PHONY: bench
bench: deps ## Benchmarks: the model, the simulator, the extension (GET vs bare, reads per TTL, start-up, RSS, size, time after the answer); last line "bench: ..." (ARGS="-invokes 50 -rounds 2", -h for flags)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/circuit/ ./internal/adaptive/sim/ ./extension/internal/breaker/
	$(GO) run ./extension/internal/bench $(ARGS)
