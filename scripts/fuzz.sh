#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang++, AddressSanitizer and UndefinedBehaviorSanitizer)
# in build-fuzz/ and runs each for SECONDS (default 60), as many at once as there are cores, each
# on a scratch copy of its corpus: fuzz/corpus/ is never changed. Fails when any target finds an
# input that crashes it, leaks, trips a sanitizer, runs out of memory (-rss_limit_mb) or takes
# longer than -timeout; the input is kept in build-fuzz/runs/<target>/ and the log names it.
#
#   scripts/fuzz.sh [SECONDS]
#
# An input that failed becomes a regression test: copy it into fuzz/regressions/<target>/, where
# ctest replays it (fuzz/README.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 [SECONDS]" >&2
    exit 2
fi

source scripts/deps.sh
nabla_ensure_deps cmake make clang libclang-rt-dev libeigen3-dev zlib1g-dev

# The longest input each target may grow, in bytes: room for a few layers, images or rows.
declare -A max_len=([model]=8192 [model_crc]=8192 [idx]=4096 [idx_gzip]=4096 [csv]=4096)
targets=(model model_crc idx idx_gzip csv)

start=$SECONDS
mkdir -p build-fuzz
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
    -DNABLA_FUZZ=ON -DNABLA_SANITIZE=address,undefined -DNABLA_SANITIZE_FLAGS="-O1 -g1" \
    -DNABLA_NATIVE=OFF -DNABLA_BUILD_TESTS=OFF -DNABLA_BUILD_EXAMPLES=OFF \
    -DNABLA_BUILD_BENCHMARKS=OFF -DNABLA_INSTALL=OFF >build-fuzz/configure.log 2>&1 || {
    cat build-fuzz/configure.log >&2
    echo "fuzz: configuring build-fuzz failed" >&2
    exit 1
}
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"
build_time=$((SECONDS - start))

runs="$PWD/build-fuzz/runs"
rm -rf "$runs" && mkdir -p "$runs"
# The readers that take a path get a file per process in memory when /dev/shm is there.
scratch="$(mktemp -d -p "$([[ -w /dev/shm ]] && echo /dev/shm || echo "${TMPDIR:-/tmp}")" nabla-fuzz.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
export NABLA_FUZZ_TMPDIR="$scratch"
export ASAN_OPTIONS="detect_leaks=1:print_stacktrace=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

# fuzz_one <target>: runs it, status in $runs/<target>.status.
fuzz_one() {
    local target="$1" dir="$runs/$1"
    mkdir -p "$dir/corpus"
    cp fuzz/corpus/"$target"/* "$dir/corpus/"
    local status=0
    build-fuzz/fuzz/fuzz_"$target" -max_total_time="$seconds" -max_len="${max_len[$target]}" \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$dir/" "$dir/corpus" >"$runs/$target.log" 2>&1 || status=$?
    echo "$status" >"$runs/$target.status"
}

start=$SECONDS
for target in "${targets[@]}"; do
    while [[ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]]; do
        wait -n || true
    done
    fuzz_one "$target" &
done
wait
run_time=$((SECONDS - start))

failed=0
for target in "${targets[@]}"; do
    status="$(cat "$runs/$target.status")"
    units="$(sed -n 's/^stat::number_of_executed_units: *//p' "$runs/$target.log")"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$runs/$target.log")"
    corpus="$(find "$runs/$target/corpus" -type f | wc -l)"
    if [[ "$status" -ne 0 ]]; then
        failed=1
        echo "=== fuzz_$target failed (status $status); its log ends:" >&2
        tail -n 60 "$runs/$target.log" >&2
        artifact="$(find "$runs/$target" -maxdepth 1 -type f \
            \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' -o -name 'timeout-*' \) | head -n 1)"
        if [[ -n "$artifact" ]]; then
            echo "fuzz: the input is $artifact; replay it with build-fuzz/fuzz/fuzz_$target $artifact," >&2
            echo "fuzz: keep it as a test: cp $artifact fuzz/regressions/$target/" >&2
        fi
    fi
    printf 'fuzz: %-10s %9s runs (%s/s), corpus %s inputs, %s\n' "$target" "${units:-?}" \
        "${rate:-?}" "$corpus" "$([[ "$status" -eq 0 ]] && echo ok || echo FAILED)"
done
echo "fuzz: build ${build_time} s, runs ${run_time} s (${#targets[@]} targets, ${seconds} s each)"
exit "$failed"
