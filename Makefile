# runcs — build, test, demo, install. Every target works from a fresh clone (see README.md).
SHELL := /bin/bash
PREFIX ?= /usr/local
DOTNET ?= dotnet
CONFIG ?= Release
SOURCES := $(shell find src specs -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.json' \) 2>/dev/null) Directory.Build.props

.PHONY: all build test unit-test conformance-test demo install clean bench rootfs stress

all: build

build: bin/runcs

# out/.commit changes when HEAD does, so --version always names the commit the binary was built from.
COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
$(shell mkdir -p out; [ "$$(cat out/.commit 2>/dev/null)" = "$(COMMIT)" ] || echo "$(COMMIT)" > out/.commit)

bin/runcs: $(SOURCES) out/.commit
	$(DOTNET) publish src/Runtime/Runtime.csproj -c $(CONFIG) -o out/publish -nologo -v:q
	mkdir -p bin && cp out/publish/runcs bin/runcs.tmp && mv -f bin/runcs.tmp bin/runcs

# The busybox root filesystem every container test uses (from the busybox-static package).
rootfs:
	tests/rootfs/build-rootfs.sh

# All tests: unit tests (no root needed) and conformance tests of bin/runcs (root).
# Ends with one summary line "N passed, N failed, N skipped".
test: build rootfs
	tests/run-tests.sh

unit-test:
	tests/run-tests.sh unit

conformance-test: build rootfs
	tests/run-tests.sh conformance

# Builds runcs, makes a busybox bundle with `runcs spec`, runs it.
demo: build rootfs
	tests/demo.sh

# Issue #8 long run: the in-process fuzz campaign (config.json, exec process.json, update --resources)
# for STRESS_CASES cases of each in batches of STRESS_BATCH (each batch is a CI-sized slice: replay one
# with RUNCS_FUZZ_START=<first case> RUNCS_FUZZ_CASES=<n>), then the binary fuzz slice at
# STRESS_CLI_CASES and every security, race, crash and exhaustion test.
STRESS_CASES ?= 100000
STRESS_BATCH ?= 10000
STRESS_CLI_CASES ?= 3000
stress: build rootfs
	@set -eo pipefail; for start in $$(seq 0 $(STRESS_BATCH) $$(($(STRESS_CASES) - 1))); do \
	  echo "=== fuzz batch: cases $$start..$$((start + $(STRESS_BATCH) - 1))"; \
	  RUNCS_FUZZ_START=$$start RUNCS_FUZZ_CASES=$(STRESS_BATCH) $(DOTNET) test tests/Runtime.Tests -c Debug --nologo -v:q \
	    --filter "Category=Fuzz" --logger "console;verbosity=normal" | grep -E 'cases from|Failed|Passed|Error Message|unhandled' ; \
	done
	RUNCS_REPO=$(CURDIR) RUNCS_FUZZ_CLI_CASES=$(STRESS_CLI_CASES) $(DOTNET) test tests/conformance -c Debug --nologo -v:q \
	  --filter "FullyQualifiedName~Security" --logger "console;verbosity=normal"

bench: build rootfs
	bench/run.sh

install: build
	install -D -m 0755 bin/runcs $(DESTDIR)$(PREFIX)/bin/runcs

clean:
	rm -rf bin out .cache
	find src tests -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
