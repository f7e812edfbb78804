#!/usr/bin/env bash
# Builds the benchmark suite with the GEMM back end that measured fastest on this kind of machine
# (oneDNN: docs/performance.md) in build-<backend>/, then runs bench_workloads with the flags
# given:
#
#   scripts/bench.sh [--gemm eigen|onednn|openblas|blis] [--threads N] [Google Benchmark flags]
#
# e.g. scripts/bench.sh --threads 2 --benchmark_filter='peak|W1/train_step'. With --gemm eigen
# the build is build/, the one scripts/test.sh makes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

backend=onednn
if [[ "${1:-}" == "--gemm" ]]; then
    backend="${2:?--gemm needs eigen, onednn, openblas or blis}"
    shift 2
fi
source scripts/deps.sh
package="$(nabla_gemm_package "$backend" "bench: --gemm")" || exit 2
dir=build-$backend
[[ "$backend" == eigen ]] && dir=build
nabla_ensure_deps cmake g++ make libeigen3-dev zlib1g-dev libbenchmark-dev dataset-fashion-mnist \
    $package

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DNABLA_GEMM="$backend" \
    -DNABLA_BUILD_BENCHMARKS=ON >"$dir.configure.log" 2>&1 || {
    cat "$dir.configure.log" >&2
    echo "bench: configuring $dir failed" >&2
    exit 1
}
cmake --build "$dir" -j"$(nproc)" --target bench_workloads
exec "$dir/benchmarks/bench_workloads" "$@"
