# shipkeep — the two commands: `make demo` and `make test`. Both install what is missing first.
SHELL := /bin/bash
SWIFT ?= swift
BIN_DIR = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)

.PHONY: all deps build test demo clean help

all: build

help:
	@echo "make demo   install what is missing, build, start a sandbox VM and deploy to it"
	@echo "make test   install what is missing, build, run every test (unit and end-to-end through real sshd)"
	@echo "make build  build shipkeep and shipkeep-agent (debug)"

## Installs the system packages shipkeep builds and tests with, when any is missing.
deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

test: build
	SHIPKEEP_BIN_DIR="$(BIN_DIR)" $(SWIFT) test 2>&1 | tee .build/test-output.txt; exit $${PIPESTATUS[0]}

demo: build
	SHIPKEEP_BIN_DIR="$(BIN_DIR)" scripts/demo.sh

clean:
	rm -rf .build
