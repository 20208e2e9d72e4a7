# The two commands a newcomer runs are `make demo` and `make test`; each sets
# up what it needs first. Everything else is a convenience around CMake presets.
JOBS ?= 2
BUILD := build/release
FUZZ_SECONDS ?= 15

.PHONY: setup build layers thread-safety demo test unit browser fuzz asan bench format clean

setup:
	@scripts/setup.sh

# Everything: the binary, the tests and the benchmarks. A build directory
# that `make demo` configured without tests is configured again with them.
build: setup
	@grep -qs '^SB_TESTS:BOOL=ON' $(BUILD)/CMakeCache.txt && \
	  grep -qs '^SB_BENCH:BOOL=ON' $(BUILD)/CMakeCache.txt && [ -f $(BUILD)/build.ninja ] || \
	  cmake --preset release -DSB_TESTS=ON -DSB_BENCH=ON >/dev/null
	@cmake --build --preset release -j $(JOBS)

# Only what the binary needs: its packages (no test tools) and the
# `switchboard` target (no tests, no benchmarks). tests/integration/
# demo_target_test.py checks both.
demo:
	@scripts/setup.sh --demo
	@[ -f $(BUILD)/build.ninja ] || cmake --preset release -DSB_TESTS=OFF -DSB_BENCH=OFF >/dev/null
	@cmake --build --preset release -j $(JOBS) --target switchboard
	$(BUILD)/switchboard demo --smtp-capture scripts/smtp-capture.py

# The layering rules (src/README.md), in under a second, before anything is built.
layers: setup
	@python3 scripts/check_layers.py

# The libraries compiled by clang with -Wthread-safety -Werror=thread-safety:
# the fuzz preset's objects, which `make fuzz` then reuses, and the store's
# test helpers.
thread-safety: setup
	@[ -f build/fuzz/build.ninja ] || cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS) --target sb_server sb_store_testing

# Every test: unit, storage on SQLite and PostgreSQL, integration, then a short fuzz run.
test: layers build thread-safety
	ctest --preset release -j $(JOBS)
	@$(MAKE) --no-print-directory fuzz

unit: build
	ctest --preset release -j $(JOBS) -LE "integration|browser"

# The web app in headless Chromium (tests/browser).
browser: build
	ctest --preset release -L browser

fuzz: setup
	@[ -f build/fuzz/build.ninja ] || cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS) --target csv_fuzz contact_fuzz import_fuzz api_fuzz mail_fuzz json_fuzz \
	  http_fuzz template_fuzz policy_fuzz contest_fuzz dtmf_fuzz sip_fuzz leak_fuzz \
	  dkim_fuzz
	@scripts/run-fuzz.sh build/fuzz $(FUZZ_SECONDS)

asan: setup
	@[ -f build/asan/build.ninja ] || cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

bench: build
	@scripts/setup.sh --bench
	@scripts/run-bench.sh $(BUILD)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf build
