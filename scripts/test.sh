#!/usr/bin/env bash
# Installs what is missing, builds nabla's tests, examples and benchmarks in build/, runs the
# tests, short runs of the examples and a smoke run of the benchmarks with ctest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/deps.sh
# pkg-config and git: the consumer tests (tests/consumer/run.sh) build with pkg-config and
# FetchContent.
nabla_ensure_deps cmake g++ make libeigen3-dev catch2 zlib1g-dev dataset-fashion-mnist \
    libbenchmark-dev python3 doxygen pkg-config git libopenmpi-dev openmpi-bin

# The Eigen back end, named because build/ may have been configured with another by demo.sh:
# the allocation tests hold for it alone (detail/gemm_onednn.hpp), and scripts/test_backend.sh
# runs the tests of the products on the others.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNABLA_GEMM=eigen \
    -DNABLA_BUILD_TESTS=ON -DNABLA_BUILD_EXAMPLES=ON -DNABLA_BUILD_BENCHMARKS=ON
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
