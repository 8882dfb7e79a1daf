# The README's two commands: `make run` and `make test`. Both install what is missing first.
BUILD_DIR ?= build
TEST_BUILD_DIR ?= build-test
JOBS ?= $(shell nproc)

.PHONY: all deps deps-test build run test unit fuzz bench format clean

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOAT_TESTS=OFF

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Runs moat server on SQLite in the user's data directory (with an agent for the local Docker host
# when an engine answers); prints the URL and where the first admin token is.
run: build
	scripts/run-default.sh $(BUILD_DIR)/moat

$(TEST_BUILD_DIR)/build.ninja:
	cmake -S . -B $(TEST_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMOAT_SANITIZE=ON -DMOAT_TESTS=ON

# Unit tests (ASan/UBSan) and integration tests against real dockerd, registry, rpm, debootstrap.
# tests/host_state.sh fails the run when the tests changed the host's interfaces, addresses,
# iptables rules or mounts (it prints the difference).
test: deps-test $(TEST_BUILD_DIR)/build.ninja
	cmake --build $(TEST_BUILD_DIR) -j $(JOBS)
	tests/host_state.sh around ctest --test-dir $(TEST_BUILD_DIR) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

unit: deps-test $(TEST_BUILD_DIR)/build.ninja
	cmake --build $(TEST_BUILD_DIR) -j $(JOBS)
	tests/host_state.sh around ctest --test-dir $(TEST_BUILD_DIR) --output-on-failure -j $(JOBS) -E '^integration$$'

fuzz: deps-test
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOAT_FUZZ=ON -DMOAT_TESTS=OFF
	cmake --build build-fuzz -j $(JOBS)

# Micro-benchmarks (bench/*_bench.cpp) and the end-to-end comparisons against the floor
# (bench/*.sh), on the release binary; results go to docs/benchmarks.md by hand.
bench: deps-test build
	cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DMOAT_BENCH=ON -DMOAT_TESTS=OFF
	cmake --build build-bench -j $(JOBS)
	for b in build-bench/*_bench; do [ -x "$$b" ] && "$$b"; done; true
	bench/inventory.sh $(BUILD_DIR)/moat

format:
	find src cli tests bench fuzz -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(TEST_BUILD_DIR) build-fuzz build-bench
