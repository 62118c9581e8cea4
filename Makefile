# The two commands of the README:
#   make demo   install, build, and run the main job on the built-in dataset
#   make test   install, build, and run every test
# Other targets: build, bench, sanitize, fuzz, fuzz-smoke, format, clean.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
DEMO_DIR ?= demo-out
CMAKE_FLAGS ?=
# Extra flags for the main job, e.g. RUN_FLAGS="--data path/to/MY_data --config configs/fruit-224.json"
RUN_FLAGS ?=

.PHONY: setup build test demo bench sanitize fuzz-build fuzz fuzz-smoke format clean

setup:
	scripts/setup.sh

build: setup
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory fuzz-smoke

demo: build
	$(BUILD_DIR)/src/cli/inferbench run --out $(DEMO_DIR) $(RUN_FLAGS)

bench: build
	scripts/setup.sh --bench
	benchmarks/run_preprocess.sh $(BUILD_DIR)

# make sanitize: every test under AddressSanitizer, LeakSanitizer and UBSan, in its
# own build folder (a finding fails the test that hit it). The options reach the
# workers and CLI children the tests start, and the test discovery at build time.
# Third-party suppressions, each with its reason: tests/sanitizers/. Figures,
# findings: benchmarks/reliability.md ("Sanitizer build").
SANITIZE_DIR ?= build-sanitize
SANITIZERS ?= address,undefined
# no_deepbind.so (tests/sanitizers/no_deepbind.c) goes first so OpenVINO's
# oneTBB can load under ASan; verify_asan_link_order=0 because it does.
SANITIZE_SHIM = $(SANITIZE_DIR)/no_deepbind.so
SANITIZE_ENV = \
  LD_PRELOAD=$(CURDIR)/$(SANITIZE_SHIM) \
  ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1:verify_asan_link_order=0 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$(CURDIR)/tests/sanitizers/ubsan.supp

sanitize: setup
	cmake -S . -B $(SANITIZE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" -DINFERBENCH_SANITIZE=$(SANITIZERS) \
	  -DINFERBENCH_BUILD_BENCHMARKS=OFF $(CMAKE_FLAGS)
	cc -O2 -shared -fPIC -o $(SANITIZE_SHIM) tests/sanitizers/no_deepbind.c -ldl
	$(SANITIZE_ENV) cmake --build $(SANITIZE_DIR) -j $(JOBS)
	$(SANITIZE_ENV) ctest --test-dir $(SANITIZE_DIR) --output-on-failure -j $(JOBS)

# make fuzz: the libFuzzer harnesses of fuzz/ (one per parser of outside input;
# clang, ASan + UBSan) in their own build folder, each for FUZZ_SECONDS on its
# corpus (kept in $(FUZZ_DIR)/fuzz/corpus/); one line per harness with its
# executions. make fuzz-smoke (part of make test): every saved regression input
# (fuzz/regressions/) once, then FUZZ_SMOKE_SECONDS of fuzzing each. A finding
# fails both. FUZZERS="csv image" runs only those. Record: benchmarks/reliability.md.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZERS ?=

fuzz-build: setup
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Fuzz -DINFERBENCH_FUZZ=ON
	cmake --build $(FUZZ_DIR) -j $(JOBS)

fuzz: fuzz-build
	fuzz/run.sh fuzz $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZERS)

fuzz-smoke: fuzz-build
	fuzz/run.sh smoke $(FUZZ_DIR) $(FUZZ_SMOKE_SECONDS) $(FUZZERS)

format:
	find src tests benchmarks -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(SANITIZE_DIR) $(FUZZ_DIR) $(DEMO_DIR)
