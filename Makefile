# shipkeep — the two commands: `make demo` and `make test`. Both install what is missing first.
SHELL := /bin/bash
SWIFT ?= swift
BIN_DIR = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)
# Where the fault tests write their rows of docs/RELIABILITY.md.
RELIABILITY_DIR = $(CURDIR)/.build/reliability

.PHONY: all deps build test reliability demo clean help

all: build

help:
	@echo "make demo   install what is missing, build, start a sandbox VM and deploy to it"
	@echo "make test   install what is missing, build, run every test (unit and end-to-end through real sshd)"
	@echo "make build  build shipkeep and shipkeep-agent (debug)"
	@echo "make reliability  rewrite docs/RELIABILITY.md's tables from the last make test"

## Installs the system packages shipkeep builds and tests with, when any is missing.
deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

## Every test, then docs/RELIABILITY.md checked against the rows the fault tests recorded.
test: build
	rm -rf "$(RELIABILITY_DIR)"
	SHIPKEEP_BIN_DIR="$(BIN_DIR)" SHIPKEEP_RELIABILITY_DIR="$(RELIABILITY_DIR)" $(SWIFT) test 2>&1 \
		| tee .build/test-output.txt; status=$${PIPESTATUS[0]}; \
		if [ $$status -eq 0 ]; then "$(BIN_DIR)/shipkeep-sandbox" reliability --records "$(RELIABILITY_DIR)" || status=1; fi; \
		exit $$status

## Rewrites docs/RELIABILITY.md's tables from the records of the last `make test`.
reliability: build
	"$(BIN_DIR)/shipkeep-sandbox" reliability --write --records "$(RELIABILITY_DIR)"

demo: build
	SHIPKEEP_BIN_DIR="$(BIN_DIR)" scripts/demo.sh

clean:
	rm -rf .build
