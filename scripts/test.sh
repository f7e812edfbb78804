#!/usr/bin/env bash
# Installs what is missing, builds nabla's tests and examples in build/, runs them with ctest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/deps.sh
nabla_ensure_deps cmake g++ make libeigen3-dev catch2 zlib1g-dev dataset-fashion-mnist

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
    -DNABLA_BUILD_TESTS=ON -DNABLA_BUILD_EXAMPLES=ON -DNABLA_BUILD_BENCHMARKS=OFF
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
