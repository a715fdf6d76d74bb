# One entry point for people and CI. Every target shares ./target.
SHELL := /bin/bash
.DEFAULT_GOAL := help
HOST ?= 127.0.0.1
PORT ?= 3000
# Lambda architecture for `make build`: x86-64 (runs here, as the benchmarks
# need) or arm64 (the template's default; `make test-arm64` runs it under qemu).
ARCH ?= x86-64
LAMBDA_DIR := target/lambda$(if $(filter arm64,$(ARCH)),-arm64)
FUNCTIONS := captcha sms register session account
# One build of every target, with the dev-dependencies' features: the suites,
# the binaries they start and the contract test's local API all come from it,
# and `cargo test` then compiles nothing more.
BUILD_ALL := cargo build --workspace --all-targets
# scripts/setup puts the pinned Python tools (schemathesis, cfn-lint,
# cargo-lambda, zig) in the project's own virtualenv.
export PATH := $(CURDIR)/.cache/venv/bin:$(PATH)

.PHONY: help setup run test test-arm64 contract lint build check-template bench clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/$$(HOST)/$(HOST)/; s/$$(PORT)/$(PORT)/' \
	  | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'
	@echo "The first build downloads the crates from the crate registry: a few minutes."

run: ## the whole API on $(HOST):$(PORT) (HOST=0.0.0.0 for a phone on your network): memory store, SMS codes printed here
	HOST=$(HOST) PORT=$(PORT) cargo run -p local-api

setup: ## install what every target needs (Debian/Ubuntu; elsewhere it lists what is missing)
	scripts/setup ci

test: ## every test; installs what it lacks first (Java 17, npm, chromium, schemathesis, DynamoDB Local), starts DynamoDB Local
	scripts/setup test
	$(BUILD_ALL)
	scripts/dynamodb-local run bash -c '$(MAKE) --no-print-directory --jobs=2 --output-sync=target suites && npm --prefix tests/browser test'

# `cargo test` and the contract test (on the memory store) side by side, each
# one's output printed whole when it ends; then the browser suite alone: its
# page waits on a local API that shares DynamoDB Local, and beside 400 tests
# making tables its first request once took over its 30 s.
.PHONY: suites suite-cargo suite-contract
suites: suite-cargo suite-contract
suite-cargo:
	+cargo test --workspace
suite-contract:
	scripts/contract-test

contract: ## schemathesis against the local API and openapi.yaml
	scripts/setup test
	$(BUILD_ALL)
	scripts/contract-test

build: ## the Lambda bootstraps in target/lambda, or target/lambda-arm64 with ARCH=arm64 (cargo lambda + zig)
	scripts/setup build $(if $(filter arm64,$(ARCH)),arm64)
	cargo lambda build --release --$(ARCH) --lambda-dir $(LAMBDA_DIR) $(addprefix --bin ,$(FUNCTIONS))
	scripts/check-bootstrap $(LAMBDA_DIR)

test-arm64: ## before a deploy: the arm64 release bootstraps (as shipped) built, then the Runtime-API suite on them under qemu-user
	$(MAKE) build ARCH=arm64
	scripts/qemu-bootstraps target/lambda-arm64 target/lambda-arm64-qemu
	LAMBDA_BINARIES=target/lambda-arm64-qemu scripts/dynamodb-local run cargo test --workspace --test it runtime_api::

check-template: ## cfn-lint on template.yaml (the code/template consistency test runs in `make test`)
	scripts/setup lint
	cfn-lint template.yaml

lint: ## rustfmt, clippy with warnings as errors, no unused dependency (cargo-machete)
	scripts/setup lint
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo machete --with-metadata

bench: build ## measure everything and write BENCHMARKS.md (about 6 minutes, plus up to 45 for the captcha attacks)
	scripts/bench

clean: ## remove build output and the DynamoDB Local download
	cargo clean
	rm -rf .cache
