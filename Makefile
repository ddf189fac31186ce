# Baton's front door. `make demo` and `make test` work on a fresh Debian 12 machine as root.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
BATON_WERROR ?= OFF
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test demo fuzz bench format clean

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

demo: build
	samples/demo.sh $(BUILD_DIR)/bin/baton

# libFuzzer targets (clang, -fsanitize=fuzzer,address); runs each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DBATON_FUZZ=ON -DBATON_BUILD_TESTS=OFF
	cmake --build build-fuzz -j $(JOBS) --target fuzz_pipeline
	tests/fuzz/run.sh build-fuzz/bin/fuzz_pipeline $(FUZZ_SECONDS)

bench: build
	@ls $(BUILD_DIR)/bin/bench_* 2>/dev/null | while read b; do echo "== $$b"; $$b; done

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) build-fuzz
