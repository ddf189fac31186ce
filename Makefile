# Baton's front door. `make demo` and `make test` work on a fresh Debian 12 machine as root.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
BATON_WERROR ?= OFF
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test check-sanitizers demo fuzz bench format clean

all: build

deps:
	@.ci/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DBATON_WERROR=$(BATON_WERROR) $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# The suite once more under AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer,
# in its own build tree. -Og -g1 keeps the build quick (measured per file: half the CPU of -O1
# on tests, 0.7x on the Beast-heavy sources) and the reports' stacks readable (line tables); test
# objects at -O0 take 0.81-0.87x the CPU of -Og under the sanitizers (BATON_TEST_OPT). The
# browser tests (label ui) are left out: they test the TypeScript app, and the server routes they
# use have C++ tests of their own that run here.
# -gz compresses the objects' debug info too (this tree is not shared with developers' ccache).
# No unity batches here (BATON_UNITY=OFF): each file is compiled alone, as CI's ccache holds it.
SAN_DIR ?= build-san
SANITIZERS ?= address,undefined
check-sanitizers: deps
	cmake -S . -B $(SAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-Og -g1 -gz" -DBATON_TEST_OPT=-O0 -DBATON_SANITIZE=$(SANITIZERS) \
	  -DBATON_UNITY=OFF -DBATON_WEB_UI=OFF -DBATON_BUILD_BENCH=OFF -DBATON_WERROR=$(BATON_WERROR) \
	  $(CMAKE_FLAGS)
	cmake --build $(SAN_DIR) -j $(JOBS)
	cd $(SAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/.ci/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 600

demo: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target demo_deps
	samples/demo.sh $(BUILD_DIR)/bin/baton

# libFuzzer targets (clang, -fsanitize=fuzzer,address); runs each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fuzz_pipeline fuzz_webhooks fuzz_api fuzz_layers fuzz_volumes fuzz_event_chunks
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DBATON_FUZZ=ON -DBATON_BUILD_TESTS=OFF
	cmake --build build-fuzz -j $(JOBS) --target $(FUZZ_TARGETS)
	for t in $(FUZZ_TARGETS); do tests/fuzz/run.sh build-fuzz/bin/$$t $(FUZZ_SECONDS) || exit 1; done

bench: build
	@ls $(BUILD_DIR)/bin/bench_* 2>/dev/null | while read b; do echo "== $$b"; $$b; done

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(SAN_DIR) build-fuzz
