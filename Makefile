# Top-level entry points.  `make test` is what CI runs (.ci/run); every target installs what it needs.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=

.PHONY: all deps build test test-unit test-asan clean demo bench e2e

all: build

deps:
	@packaging/install-deps.sh all

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j$(JOBS)

# The whole suite, then the unit tests again under AddressSanitizer + UBSan.
test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) $(CTEST_ARGS)
	$(MAKE) --no-print-directory test-asan

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DPEC_SANITIZE=ON
	cmake --build $(BUILD_ASAN) -j$(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) -L unit

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
	rm -rf $(BUILD) $(BUILD_ASAN)
