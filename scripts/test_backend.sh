#!/usr/bin/env bash
# Builds the tests of nabla's products, and of the steps built on them, with a GEMM back end other
# than Eigen in build-<backend>/, and runs them:
#
#   scripts/test_backend.sh [onednn|openblas|blis] [--gemm-only]
#
# nabla_backend_tests (top-level CMakeLists.txt): gemm against the rounding bound of a dot
# product, the thread pool's one back-end thread per part, train_step and DataParallel against
# backward + update, and the gradient check. scripts/test.sh builds every test on the default back
# end, Eigen; building them all twice would double the build. --gemm-only builds and runs
# test_gemm alone (nabla_backend_gemm_tests): the products against the rounding bound, in float
# and double, a fraction of the build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

backend="${1:-onednn}"
target=nabla_backend_tests
[[ "${2:-}" == "--gemm-only" ]] && target=nabla_backend_gemm_tests
source scripts/deps.sh
if [[ "$backend" == eigen ]] || ! package="$(nabla_gemm_package "$backend" test_backend)"; then
    echo "usage: $0 [onednn|openblas|blis] [--gemm-only]" >&2
    exit 2
fi
nabla_ensure_deps cmake g++ make libeigen3-dev catch2 zlib1g-dev $package

dir="build-$backend"
mkdir -p "$dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DNABLA_GEMM="$backend" \
    -DNABLA_BUILD_TESTS=ON -DNABLA_BUILD_EXAMPLES=OFF -DNABLA_BUILD_BENCHMARKS=OFF \
    -DNABLA_INSTALL=OFF >"$dir/configure.log" 2>&1 || {
    cat "$dir/configure.log" >&2
    echo "test_backend: configuring $dir failed" >&2
    exit 1
}
cmake --build "$dir" -j"$(nproc)" --target "$target"
"$dir/$target"
