# shipkeep — the two commands: `make demo` and `make test`. Both install what is missing first.
SHELL := /bin/bash
SWIFT ?= swift
BIN_DIR = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)

.PHONY: all deps build test fuzz fuzz-short demo clean help

all: build

help:
	@echo "make demo   install what is missing, build, start a sandbox VM and deploy to it"
	@echo "make test   install what is missing, build, run every test (unit and end-to-end through real sshd)"
	@echo "make build  build shipkeep and shipkeep-agent (debug)"
	@echo "make fuzz   fuzz the wire protocol with libFuzzer for FUZZ_SECONDS (default 600)"

## Installs the system packages shipkeep builds and tests with, when any is missing.
deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

## The short fuzz runs first so that swift test's summary stays the last thing printed.
test: build fuzz-short
	SHIPKEEP_BIN_DIR="$(BIN_DIR)" $(SWIFT) test 2>&1 | tee .build/test-output.txt; exit $${PIPESTATUS[0]}

## libFuzzer over the protocol decoder and the framing (scripts/fuzz.sh); a crash fails the target.
fuzz:
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} scripts/fuzz.sh

fuzz-short:
	FUZZ_SECONDS=$${FUZZ_SHORT_SECONDS:-25} scripts/fuzz.sh

demo: build
	SHIPKEEP_BIN_DIR="$(BIN_DIR)" scripts/demo.sh

clean:
	rm -rf .build
