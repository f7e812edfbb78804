#!/usr/bin/env bash
# What a program's own file costs to compile: CPU seconds (user + system) and the compiler's peak
# memory for the four probes of benchmarks/compile_time/ at -O2, each header-only and against
# nabla::compiled (NABLA_COMPILED; the library itself is compiled once, not counted per file).
#
#   benchmarks/compile_time.sh [compiler flags...]   # e.g. -march=native
#
# The probes grow one step at a time: predict.cpp (a DynamicNetwork and predict), adam.cpp
# (backward and an Adam step), fit.cpp (fit and accuracy) and save.cpp (fit, accuracy and save:
# the program issue 15 holds to 5 s and 500 MB). Run it on an idle machine: CPU time grows when
# the other core is busy.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/deps.sh
nabla_ensure_deps g++ time libeigen3-dev

cxx="${CXX:-g++}"
flags=(-std=c++17 -O2 -Iinclude -isystem /usr/include/eigen3 "$@")
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# measure <source> <extra flags...>: prints "<CPU s> <MB>".
measure() {
    local source="$1"
    shift
    /usr/bin/time -f "%U %S %M" -o "$out/time" "$cxx" "${flags[@]}" "$@" -c "$source" \
        -o "$out/probe.o"
    awk '{ printf "%.2f %.0f\n", $1 + $2, $3 / 1024 }' "$out/time"
}

echo "| probe | header-only CPU s | MB | nabla::compiled CPU s | MB |"
echo "|---|---|---|---|---|"
for probe in predict adam fit save; do
    source="benchmarks/compile_time/$probe.cpp"
    read -r header_s header_mb < <(measure "$source")
    read -r compiled_s compiled_mb < <(measure "$source" -DNABLA_COMPILED=1)
    echo "| $probe | $header_s | $header_mb | $compiled_s | $compiled_mb |"
done
read -r include_s include_mb < <(printf '#include <nabla/nabla.hpp>\nint main() {}\n' >"$out/include.cpp" && measure "$out/include.cpp")
echo "| #include <nabla/nabla.hpp> alone | $include_s | $include_mb | | |"
