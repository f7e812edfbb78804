#!/usr/bin/env bash
# Builds nabla's tests and examples with sanitizers and runs them; any report fails the run.
#
#   scripts/sanitize.sh          # both phases
#   scripts/sanitize.sh asan     # AddressSanitizer and UndefinedBehaviorSanitizer only
#   scripts/sanitize.sh tsan     # ThreadSanitizer only
#
# asan: build-asan/ with NABLA_SANITIZE=address,undefined: every test and example (the fuzz
#       corpus replays included), run by ctest. LeakSanitizer runs at each exit.
# tsan: build-tsan/ with NABLA_SANITIZE=thread: only the executables that start threads,
#       nabla_thread_tests (test_threads, test_thread_pool and test_data_parallel; defined in the
#       top-level CMakeLists.txt) and test_allocations_parallel, run directly.
#
# Choices, measured on 2 cores (CPU seconds to compile one test file; run times of nabla_tests):
#   - ASan and UBSan with clang++: at -O1 it compiles them in two thirds of g++'s time. TSan with
#     g++: its runtime is a shared library, so test_allocations_parallel, which replaces the
#     global operator new, links; clang's static TSan runtime defines operator new too, and the
#     link fails. (ASan lets a program replace operator new with either compiler: the
#     test_allocations* executables run under ASan like the others.)
#   - ASan at -O0 -g1 (NABLA_SANITIZE_FLAGS): with both sanitizers -O0 compiles in 40-45% of
#     -O1's time (e.g. 27 s against 67 s), which matters most, since the build is most of this
#     script; nabla_tests then runs in 140 s instead of 16 s, the Fashion-MNIST example in 104 s
#     instead of 3 s, still a few minutes for every test on two cores. TSan at -O1 -g1: -O0 does
#     not compile faster with g++. -g1 gives file:line in every stack for a fraction of -g.
#   - ASan's nabla_tests in batches of six test files per translation unit (NABLA_UNITY_TESTS):
#     clang at -O0 emits the templates the files share once per batch, not once per file, which
#     halves their compile time (tests/CMakeLists.txt has the figures).
#   - Build type Debug, so that Eigen's and nabla's assertions are on: an index out of range
#     inside a matrix is reported even where it stays within the memory ASan guards.
#   - NABLA_NATIVE=OFF: -march=native adds a sixth to the compile and nothing a sanitizer sees.
#   - -fno-sanitize=alignment,object-size: the two UBSan checks that cost the most to compile
#     (+60% and +30% of an -O1 compile, +17% together at -O0; the other checks +15%). On x86-64
#     a misaligned scalar access works and a misaligned vector access faults, which is reported
#     without the check, and nabla reads files a byte at a time; object-size checks bounds that
#     ASan checks at run time anyway. OSS-Fuzz leaves alignment out too.
#   - The header check (tests/CMakeLists.txt) is left out of a sanitizer build (top-level
#     CMakeLists.txt): it only compiles.
#   - NABLA_WITH_MPI=OFF: the MPI tests would run Open MPI's runtime under the sanitizers,
#     whose own allocations and threads are not nabla's to answer for. fit()'s side of
#     training across processes is in test_distributed.cpp, ranks as threads, which runs here
#     under ASan + UBSan and, in nabla_thread_tests, under TSan.
# Every report goes to a file under build-*/sanitizer-logs/ (log_path), counted at the end; a
# report also makes its test fail (halt_on_error, -fno-sanitize-recover=all).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

phases=("$@")
if [[ ${#phases[@]} -eq 0 ]]; then
    phases=(asan tsan)
fi
for phase in "${phases[@]}"; do
    if [[ "$phase" != asan && "$phase" != tsan ]]; then
        echo "usage: $0 [asan] [tsan]" >&2
        exit 2
    fi
done

source scripts/deps.sh
nabla_ensure_deps cmake make clang libclang-rt-dev libeigen3-dev catch2 zlib1g-dev \
    dataset-fashion-mnist python3

jobs="$(nproc)"
summary=()

# configure <dir> <compiler> <sanitizers> <flags> <examples: ON|OFF> <unity tests: ON|OFF>
configure() {
    mkdir -p "$1"
    cmake -S . -B "$1" -DCMAKE_CXX_COMPILER="$2" -DCMAKE_BUILD_TYPE=Debug \
        -DNABLA_SANITIZE="$3" -DNABLA_SANITIZE_FLAGS="$4" -DNABLA_UNITY_TESTS="$6" \
        -DNABLA_NATIVE=OFF -DNABLA_BUILD_TESTS=ON -DNABLA_BUILD_EXAMPLES="$5" \
        -DNABLA_BUILD_BENCHMARKS=OFF -DNABLA_INSTALL=OFF -DNABLA_WITH_MPI=OFF \
        >"$1/configure.log" 2>&1 || {
        cat "$1/configure.log" >&2
        echo "sanitize: configuring $1 failed" >&2
        exit 1
    }
}

# count <logs dir> <pattern>: the reports in the sanitizer logs that match.
count() {
    local n
    n="$(cat "$1"/* 2>/dev/null | grep -c -E "$2" || true)"
    echo "${n:-0}"
}

# report <logs dir> <phase> <status>: prints every report and the counts; returns the status.
report() {
    local logs="$1" name="$2" status="$3" asan lsan ubsan tsan
    if compgen -G "$logs/*" >/dev/null; then
        echo "=== sanitizer reports of $name ===" >&2
        cat "$logs"/* >&2
    fi
    asan="$(count "$logs" '^==[0-9]+==ERROR: AddressSanitizer')"
    lsan="$(count "$logs" '^==[0-9]+==ERROR: LeakSanitizer')"
    ubsan="$(count "$logs" 'runtime error:')"
    tsan="$(count "$logs" '^WARNING: ThreadSanitizer')"
    summary+=("$name: ASan $asan, LSan $lsan, UBSan $ubsan, TSan $tsan reports")
    if [[ "$status" -eq 0 && $((asan + lsan + ubsan + tsan)) -gt 0 ]]; then
        return 1  # a report that did not fail its test still fails the run
    fi
    return "$status"
}

# elapsed <start>: seconds since <start> (from $SECONDS).
elapsed() { echo "$((SECONDS - $1)) s"; }

status=0

if [[ " ${phases[*]} " == *" asan "* ]]; then
    logs="$PWD/build-asan/sanitizer-logs"
    start=$SECONDS
    configure build-asan clang++ address,undefined "-O0 -g1 -fno-sanitize=alignment,object-size" ON ON
    cmake --build build-asan -j"$jobs"
    summary+=("asan build: $(elapsed "$start")")
    rm -rf "$logs" && mkdir -p "$logs"
    export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:print_stacktrace=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:log_path=$logs/asan"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
    export LSAN_OPTIONS="log_path=$logs/lsan"
    start=$SECONDS
    asan_status=0
    # All but one: the allocation count of gemm at W2's 1024-wide shapes runs its products
    # unoptimised for about 170 s, most of this phase's time on two cores; the same gemm code
    # runs under ASan in test_gemm and at W1's shapes in the allocation tests. And not the
    # consumer tests (label consumer), which build projects of their own without sanitizers.
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE '^consumer$' \
        -E '^allocations: gemm allocates nothing after one warm-up, W1 and W2 shapes$' ||
        asan_status=$?
    summary+=("asan tests: $(elapsed "$start")")
    report "$logs" asan "$asan_status" || status=1
    unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
fi

if [[ " ${phases[*]} " == *" tsan "* ]]; then
    logs="$PWD/build-tsan/sanitizer-logs"
    start=$SECONDS
    configure build-tsan g++ thread "-O1 -g1" OFF OFF
    cmake --build build-tsan -j"$jobs" --target nabla_thread_tests test_allocations_parallel
    summary+=("tsan build: $(elapsed "$start")")
    rm -rf "$logs" && mkdir -p "$logs"
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$logs/tsan"
    start=$SECONDS
    tsan_status=0
    for test in build-tsan/nabla_thread_tests build-tsan/tests/test_allocations_parallel; do
        echo "sanitize: $test" >&2
        "$test" || tsan_status=$?
    done
    summary+=("tsan tests: $(elapsed "$start")")
    report "$logs" tsan "$tsan_status" || status=1
    unset TSAN_OPTIONS
fi

printf 'sanitize: %s\n' "${summary[@]}"
if [[ "$status" -ne 0 ]]; then
    echo "sanitize: FAILED" >&2
fi
exit "$status"
