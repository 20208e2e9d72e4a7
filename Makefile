# The two commands a newcomer runs are `make demo` and `make test`; each sets
# up what it needs first. Everything else is a convenience around CMake presets.
JOBS ?= 2
BUILD := build/release
FUZZ_SECONDS ?= 15

.PHONY: setup build layers thread-safety demo test unit browser fuzz fuzz-long asan bench format clean deb

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

# R4: every target under ASan+UBSan until FUZZ_LONG_RUNS executions or
# FUZZ_LONG_SECONDS, whichever first, two at a time (one per core). Inputs
# that found new coverage are merged into fuzz/corpus/ for committing; the
# table for docs/benchmarks.md is written to build/fuzz/fuzz-long.md.
FUZZ_LONG_SECONDS ?= 3600
FUZZ_LONG_RUNS ?= 10000000
fuzz-long: setup
	@[ -f build/fuzz/build.ninja ] || cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS) --target csv_fuzz contact_fuzz import_fuzz api_fuzz mail_fuzz json_fuzz \
	  http_fuzz template_fuzz policy_fuzz contest_fuzz dtmf_fuzz sip_fuzz leak_fuzz dkim_fuzz
	@printf '| target | executions | time | coverage (edges) | inputs kept | findings |\n| --- | --- | --- | --- | --- | --- |\n' \
	  >build/fuzz/fuzz-long.md
	@FUZZ_RUNS=$(FUZZ_LONG_RUNS) FUZZ_JOBS=$(JOBS) FUZZ_KEEP=1 FUZZ_REPORT=build/fuzz/fuzz-long.md \
	  scripts/run-fuzz.sh build/fuzz $(FUZZ_LONG_SECONDS)
	@cat build/fuzz/fuzz-long.md

asan: setup
	@[ -f build/asan/build.ninja ] || cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

# The Debian package (packaging/, docs/operations.md): the binary only, then
# CPack's DEB generator; the .deb lands in build/release/deb/.
deb: setup
	@[ -f $(BUILD)/build.ninja ] || cmake --preset release -DSB_TESTS=OFF -DSB_BENCH=OFF >/dev/null
	@cmake --build --preset release -j $(JOBS) --target switchboard
	@cd $(BUILD) && cpack -G DEB >/dev/null
	@ls $(BUILD)/deb/*.deb

bench: build
	@scripts/setup.sh --bench
	@scripts/run-bench.sh $(BUILD)

# Issue 19, TARGETS R3 and R7 (docs/operations.md, "Crash trials and the
# soak"). crash-trials: kill -9 at random points, CRASH_TRIALS of them shared
# by import, e-mail sending and phone-bank calling; SWITCHBOARD_CRASH_SEED and
# SWITCHBOARD_CRASH_REPLAY replay. soak: phone-bank and e-mail load for
# SB_SOAK_SECONDS (an hour) at SB_SOAK_CALL_RATE and SB_SOAK_MAIL_RATE (half
# of P3's and P6's peaks); the report goes to $(SOAK_DIR)/soak.md and .csv.
CRASH_TRIALS ?= 102
SOAK_DIR ?= build/soak
.PHONY: crash-trials soak
crash-trials: build
	@scripts/setup.sh --bench
	cd tests/integration && SWITCHBOARD_BIN=$(abspath $(BUILD))/switchboard \
	  SB_PHONEBANK_LOAD=$(abspath $(BUILD))/bench/phonebank_load SB_SOURCE_DIR=$(CURDIR) \
	  SWITCHBOARD_CRASH_TRIALS=$(CRASH_TRIALS) /usr/bin/python3 -m unittest -v crash_trials

soak: build
	@scripts/setup.sh --bench
	/usr/bin/python3 bench/soak.py --bin $(BUILD)/switchboard \
	  --load $(BUILD)/bench/phonebank_load --dir $(SOAK_DIR)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf build
