#!/usr/bin/env bash
# Installs what is missing, builds the examples in build/, trains the Fashion-MNIST classifier
# (its files go to fashion_mnist_out/), then runs the worked example of the notes and XOR. The
# products run on oneDNN, the GEMM back end that measured fastest here (docs/performance.md);
# NABLA_DEMO_GEMM=eigen (or openblas, blis) picks another.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/deps.sh
backend="${NABLA_DEMO_GEMM:-onednn}"
package="$(nabla_gemm_package "$backend" "demo: NABLA_DEMO_GEMM")" || exit 2
nabla_ensure_deps cmake g++ make libeigen3-dev zlib1g-dev dataset-fashion-mnist $package

# Tests and benchmarks OFF: with them off, the default target builds the examples only.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNABLA_GEMM="$backend" \
    -DNABLA_BUILD_TESTS=OFF -DNABLA_BUILD_EXAMPLES=ON -DNABLA_BUILD_BENCHMARKS=OFF
cmake --build build -j"$(nproc)"

for example in fashion_mnist worked_example xor; do
    if [[ ! -x build/examples/$example ]]; then
        echo "demo: build/examples/$example was not built (is examples/$example.cpp there?)" >&2
        exit 1
    fi
done

build/examples/fashion_mnist --out fashion_mnist_out "$@"
echo
build/examples/worked_example
echo
build/examples/xor
