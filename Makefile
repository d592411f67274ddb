# A thin layer over CMake. `make demo` and `make test` are the two commands
# a newcomer needs; both install missing Debian packages first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all build deps demo console test test-asan bench fuzz clean format

all: build

deps:
	@scripts/deps.sh

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

demo: deps build
	rm -rf $(BUILD)/demo-data $(BUILD)/demo-data-world
	$(BUILD)/tailor --data $(BUILD)/demo-data demo
	@echo "  or simply: make console (then open http://127.0.0.1:8080/ and sign in with the key above)"

# The console and the API on the demo's data (after `make demo`, which
# printed the key to sign in with): http://127.0.0.1:8080/
console: build
	$(BUILD)/tailor --data $(BUILD)/demo-data serve --listen 127.0.0.1:8080

test: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-asan

# Every test again under AddressSanitizer and UBSan (fault injection on a
# sample of its points, tests/fault/CMakeLists.txt). Built with
# clang, whose UBSan writes its reports where log_path says (gcc's prints
# them on stderr, which the end-to-end tests do not read).
test-asan:
	CC=clang cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTAILOR_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS)

bench: deps build
	@scripts/deps.sh --bench
	bench/run.sh

# The fuzz targets of tests/fuzz under libFuzzer (clang), FUZZ_SECONDS each.
fuzz: deps
	scripts/fuzz.sh

format:
	clang-format -i src/*/*.c src/*/*.h tests/unit/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
