# shipkeep — the two commands: `make demo` and `make test`. Both install what is missing first.
SHELL := /bin/bash
SWIFT ?= swift
BIN_DIR = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)
# Where the fault and hostile-input tests write their rows of docs/RELIABILITY.md.
RELIABILITY_DIR = $(CURDIR)/.build/reliability
# In CI (CI=true) a compiler warning fails the build: the tree has none, and it stays so. The same flags go to
# `swift build` and `swift test`, or the test build would recompile everything.
SWIFT_FLAGS ?= $(if $(filter true,$(CI)),-Xswiftc -warnings-as-errors,)

.PHONY: all deps build static-agent check-imports check-agent-size test reliability fuzz fuzz-short demo bench release man clean help

all: build

help:
	@echo "make demo   install what is missing, build, start a sandbox VM and deploy to it"
	@echo "make test   install what is missing, build, run every test (unit and end-to-end through real sshd)"
	@echo "make build  build shipkeep and shipkeep-agent (debug)"
	@echo "make release  dist/shipkeep and a static dist/shipkeep-agent (no Swift runtime needed on the VM)"
	@echo "make man    man pages for shipkeep and shipkeep-agent in .build/man"
	@echo "make reliability  rewrite docs/RELIABILITY.md's tables from the last make test"
	@echo "make check-agent-size  the stripped static agent within 12 MB, no Foundation or _StringProcessing in it"
	@echo "make fuzz   fuzz the wire protocol with libFuzzer for FUZZ_SECONDS (default 600)"
	@echo "make bench  compare shipkeep with the common recipe, rsync, ssh and Ansible on sandbox VMs (≤ 15 min);"
	@echo "            prints and writes docs/BENCHMARKS.md (BENCH_QUICK=1: tiny fixtures, a quick check)"

## Installs the system packages shipkeep builds and tests with, when any is missing.
deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

STATIC_AGENT = $(CURDIR)/.build-static/release/shipkeep-agent

## The agent as `make release` ships it (Swift runtime linked in), which the install test puts on a VM.
static-agent: deps
	$(SWIFT) build $(SWIFT_FLAGS) -c release --static-swift-stdlib --product shipkeep-agent --build-path .build-static

## No Foundation module (not even FoundationEssentials), Yams or ArgumentParser in the agent's targets, the C
## library only through Platform.
check-imports:
	@scripts/check-imports.sh

## The stripped static agent within its 12 MB budget, with no Foundation, ArgumentParser or _StringProcessing.
check-agent-size: static-agent
	@scripts/check-agent-size.sh

## Every test, then docs/RELIABILITY.md checked against the rows the tests recorded.
## The short fuzz runs first so that the tests' summary stays the last thing printed. The tests run in
## TEST_SHARDS (default 2) `swift test` processes side by side: scripts/run-tests.sh says why.
test: check-imports build static-agent check-agent-size fuzz-short
	rm -rf "$(RELIABILITY_DIR)"
	@# The systemd VM tests' Debian tree, built once per machine before the tests' time limits start (root only).
	if [ "$$(id -u)" -eq 0 ]; then "$(BIN_DIR)/shipkeep-sandbox" vm-tree; fi
	SHIPKEEP_BIN_DIR="$(BIN_DIR)" SHIPKEEP_STATIC_AGENT="$(STATIC_AGENT)" SHIPKEEP_RELIABILITY_DIR="$(RELIABILITY_DIR)" \
		SWIFT="$(SWIFT)" SWIFT_FLAGS="$(SWIFT_FLAGS)" scripts/run-tests.sh; status=$$?; \
		if [ $$status -eq 0 ]; then "$(BIN_DIR)/shipkeep-sandbox" reliability --records "$(RELIABILITY_DIR)" || status=1; fi; \
		exit $$status

## Rewrites docs/RELIABILITY.md's tables from the records of the last `make test`.
reliability: build
	"$(BIN_DIR)/shipkeep-sandbox" reliability --write --records "$(RELIABILITY_DIR)"

## libFuzzer over the protocol decoder and the framing (scripts/fuzz.sh); a crash fails the target.
fuzz:
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} scripts/fuzz.sh

fuzz-short:
	FUZZ_SECONDS=$${FUZZ_SHORT_SECONDS:-25} scripts/fuzz.sh

## Every benchmark in one run (release build, sandbox VMs on loopback), into docs/BENCHMARKS.md.
bench:
	@scripts/install-deps.sh bench
	bench/run.sh

demo: build
	SHIPKEEP_BIN_DIR="$(BIN_DIR)" scripts/demo.sh

## The release pair: `shipkeep` for this machine, and an agent with the Swift runtime linked in statically,
## stripped, which `shipkeep install` finds next to `shipkeep` and uploads.
release: static-agent
	$(SWIFT) build -c release --product shipkeep
	mkdir -p dist
	cp "$$($(SWIFT) build -c release --show-bin-path)/shipkeep" dist/shipkeep
	strip -o dist/shipkeep-agent .build-static/release/shipkeep-agent
	@ls -l dist/shipkeep dist/shipkeep-agent
	@size=$$(stat -c %s dist/shipkeep-agent); \
		echo "shipkeep-agent (static, stripped): $$size bytes ($$(( size / 1048576 )).$$(( size % 1048576 * 10 / 1048576 )) MiB)"

man: deps
	mkdir -p .build/man
	$(SWIFT) package plugin --allow-writing-to-package-directory generate-manual --output-directory .build/man
	@echo "read with: man .build/man/shipkeep.1"

clean:
	rm -rf .build .build-static dist
