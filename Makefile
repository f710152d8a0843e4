# Top-level entry points.  `make test` is what CI runs (.ci/run); every target installs what it needs.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_TIME  ?= 600
FUZZ_RUNS  ?=
# every tests/fuzz/fuzz_<name>.c is a target (tests/fuzz/CMakeLists.txt builds the same list)
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=

.PHONY: all deps deb build test test-unit test-asan test-fuzz test-trixie demo-trixie fuzz fuzz-build clean demo bench e2e

all: build

deps:
	@packaging/install-deps.sh all

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j$(JOBS)

# The whole suite, then the unit tests again under AddressSanitizer + UBSan, then each fuzz target for
# a short bounded time (label fuzz, about a minute in all).
test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) $(CTEST_ARGS)
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-fuzz

# `make test` again inside a Debian 13 (trixie) chroot (scripts/trixie.sh; root; the chroot is cached as
# build-trixie/trixie-root.tar.gz, its build folders are under build-trixie/).  CI runs it after `make test`.
test-trixie:
	scripts/trixie.sh

# `make demo` inside the same Debian 13 chroot.
demo-trixie:
	scripts/trixie.sh make demo BUILD=build-trixie/build

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DPEC_SANITIZE=ON
	cmake --build $(BUILD_ASAN) -j$(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) -L unit

# The core and the libFuzzer targets, built with clang, ASan and UBSan (tests/fuzz/).
fuzz-build: deps
	CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPEC_FUZZ=ON
	cmake --build $(BUILD_FUZZ) -j$(JOBS)

# Label fuzz: each target PEC_FUZZ_CTEST_TIME seconds (10) from a fresh corpus, so CI finds regressions.
test-fuzz: fuzz-build
	cd $(BUILD_FUZZ) && ctest --output-on-failure -L fuzz

# Each target for FUZZ_TIME seconds (make fuzz FUZZ_TIME=3600) or FUZZ_RUNS executions if that comes
# first, its corpus growing from run to run under $(BUILD_FUZZ)/corpus/; a crash, leak or timeout stops it
# with the input under $(BUILD_FUZZ)/artifacts/.  FUZZ_TARGETS="message access" picks some.
fuzz: fuzz-build
	tests/fuzz/seed.sh $(BUILD_FUZZ)/common/pecctl $(BUILD_FUZZ)/seeds
	@for t in $(FUZZ_TARGETS); do \
	  PEC_FUZZ_RUNS=$(FUZZ_RUNS) tests/fuzz/run.sh $(BUILD_FUZZ)/tests/fuzz/fuzz_$$t $$t $(FUZZ_TIME) $(BUILD_FUZZ)/corpus/$$t \
	    $(BUILD_FUZZ)/seeds/$$t || exit 1; \
	done

# The Debian packages (packaging/debian) under $(BUILD)/deb, checked with lintian (scripts/deb.sh).
deb:
	scripts/deb.sh $(BUILD)/deb

# Two PEC providers on this machine, the README's scenarios through them (scripts/demo.sh; needs root).
demo: build
	scripts/demo.sh $(BUILD)

# The end-to-end suite alone (label e2e; also part of `make test`).
e2e: build
	cd $(BUILD) && ctest --output-on-failure -L e2e $(CTEST_ARGS)

# Plain Postfix + Dovecot against the PEC system on the same topology (bench/bench.sh).
bench: build
	bench/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
