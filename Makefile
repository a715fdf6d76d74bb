# One entry point for people and CI. Every target shares ./target.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PORT ?= 3000
# Lambda architecture for `make build`: x86-64 or arm64 (the template's default).
ARCH ?= x86-64
FUNCTIONS := captcha sms register session

.PHONY: help run test contract lint build check-template bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-7s %s\n", $$1, $$2}'

run: ## the whole API on 127.0.0.1:$(PORT): memory store, SMS codes printed here
	PORT=$(PORT) cargo run -p local-api

test: tests/browser/node_modules ## every test, browser included; starts DynamoDB Local (needs Java 17, Node, chromium)
	cargo build --workspace --bins
	scripts/dynamodb-local run bash -c 'cargo test --workspace && npm --prefix tests/browser test'
	scripts/contract-test

tests/browser/node_modules: tests/browser/package-lock.json
	npm --prefix tests/browser ci --no-audit --no-fund
	touch $@

contract: ## schemathesis against the local API and openapi.yaml (pip install schemathesis)
	cargo build -p local-api
	scripts/contract-test

build: ## the Lambda bootstraps (cargo lambda + zig), sizes and glibc check
	cargo lambda build --release --$(ARCH) $(addprefix --bin ,$(FUNCTIONS))
	scripts/check-bootstrap target/lambda

check-template: ## cfn-lint on template.yaml (the code/template consistency test runs in `make test`)
	cfn-lint template.yaml

lint: ## rustfmt and clippy, warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

bench: build ## measure everything and write BENCHMARKS.md (about 6 minutes, plus up to 45 for the captcha attacks)
	scripts/bench

clean: ## remove build output and the DynamoDB Local download
	cargo clean
	rm -rf .cache
