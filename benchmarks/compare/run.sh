#!/usr/bin/env bash
# The side-by-side comparison in one command (README.md): builds the runners, then runs W1-W3
# with nabla and every installed peer in alternation and prints the table.
#
#     benchmarks/compare/run.sh [--rounds N] [--quick] [--systems nabla,pytorch,...]
#                               [--json FILE] [--data DIR]
#
# The build goes to build-compare/ in the source tree (NABLA_COMPARE_BUILD overrides it) and is
# reused by later runs; only the runners are built, not nabla's tests. nabla's products run on
# oneDNN, the GEMM back end that measured fastest here (docs/performance.md);
# NABLA_COMPARE_GEMM=eigen (or openblas, blis) picks another. Exits 0 when every measurement that
# ran succeeded.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${NABLA_COMPARE_BUILD:-$root/build-compare}"
jobs="${NABLA_COMPARE_JOBS:-1}"

# shellcheck source=../../scripts/deps.sh
source "$root/scripts/deps.sh"
backend="${NABLA_COMPARE_GEMM:-onednn}"
package="$(nabla_gemm_package "$backend" "run.sh: NABLA_COMPARE_GEMM")" || exit 2
nabla_ensure_deps cmake g++ make libeigen3-dev zlib1g-dev $package

mkdir -p "$build"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNABLA_GEMM="$backend" \
    >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2
    echo "run.sh: configuring $build failed" >&2
    exit 1
}
grep '^-- compare:' "$build/configure.log" >&2 || true
cmake --build "$build" --parallel "$jobs" >&2

# The orchestrator needs only the standard library; PyTorch's runner is started with
# /usr/bin/python3, where Debian's torch lives.
python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3)"
exec "$python" "$here/compare.py" --bin "$build" --gemm "$backend" "$@"
