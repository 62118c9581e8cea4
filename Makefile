# The two commands of the README:
#   make demo   install, build, and run the main job on the built-in dataset
#   make test   install, build, and run every test
# Other targets: build, bench, format, clean.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
DEMO_DIR ?= demo-out
CMAKE_FLAGS ?=
# Extra flags for the main job, e.g. RUN_FLAGS="--data path/to/MY_data --config configs/fruit-224.json"
RUN_FLAGS ?=

.PHONY: setup build test demo bench format clean

setup:
	scripts/setup.sh

build: setup
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

demo: build
	$(BUILD_DIR)/src/cli/inferbench run --out $(DEMO_DIR) $(RUN_FLAGS)

bench: build
	scripts/setup.sh --bench
	benchmarks/run_preprocess.sh $(BUILD_DIR)

format:
	find src tests benchmarks -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(DEMO_DIR)
