#!/usr/bin/env bash
# One way of bringing nabla into someone else's build, end to end:
#
#   tests/consumer/run.sh <mode> <nabla source dir> <scratch dir>
#
#   find_package   configure nabla (no tests, examples or benchmarks), `cmake --install` it into
#                  <scratch>/prefix, build this directory's project with find_package(nabla 0.2)
#   subdirectory   build this directory's project with add_subdirectory(<nabla source dir>);
#                  then install it, which installs its exported library consumer_lib and nabla
#                  beside it, and build downstream/ against that install
#   fetchcontent   clone the source repository's HEAD into <scratch>/repo, tag it v<version>
#                  there, build this directory's project with FetchContent from that clone's
#                  file:// URL and tag (so it works whether or not the source clone has tags).
#                  It builds what HEAD holds: uncommitted changes are not in it.
#   pkg-config     install as for find_package, then
#                  ${CXX:-g++} -std=c++17 -O1 main.cpp $(pkg-config --cflags --libs nabla)
#                  with PKG_CONFIG_PATH=<scratch>/prefix/share/pkgconfig
#
# Each runs the program (main.cpp: XOR trained, saved, loaded back) and checks its one line,
# "consumer: nabla <version>: trained, saved, loaded: accuracy 1.00", <version> being the one of
# nabla's CMakeLists.txt. <scratch> is emptied first. The program is compiled header-only at
# -O1 (about 17 s of CPU with g++ 12; -O2 takes 22 s). CXX chooses the compiler, CMAKE_GENERATOR
# the generator, as for CMake. Exit status: 0 passed, 77 skipped (pkg-config or git missing, or
# a source tree that is not a git work tree in the fetchcontent mode), anything else failed.
# tests/CMakeLists.txt runs each mode as a ctest: consumer_find_package, consumer_subdirectory,
# consumer_fetchcontent, consumer_pkg_config (label consumer).
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 find_package|subdirectory|fetchcontent|pkg-config <nabla source dir> <scratch dir>" >&2
    exit 2
fi
mode="$1"
src="$(cd "$2" && pwd)"
scratch="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
opt=-O1

skip() {
    echo "consumer ($mode): skipped: $*" >&2
    exit 77
}

case "$mode" in
    find_package | subdirectory) ;;
    fetchcontent)
        command -v git >/dev/null 2>&1 || skip "no git"
        git -C "$src" rev-parse --verify -q HEAD >/dev/null 2>&1 ||
            skip "$src is not a git work tree with a commit (or git refuses it: safe.directory)"
        ;;
    pkg-config) command -v pkg-config >/dev/null 2>&1 || skip "no pkg-config" ;;
    *)
        echo "$0: mode '$mode': expected find_package, subdirectory, fetchcontent or pkg-config" >&2
        exit 2
        ;;
esac

# The version the program must report: the working tree's, or HEAD's for fetchcontent, which
# builds HEAD.
if [[ "$mode" == fetchcontent ]]; then
    project_lines="$(git -C "$src" show HEAD:CMakeLists.txt)"
else
    project_lines="$(cat "$src/CMakeLists.txt")"
fi
version="$(sed -n 's/^project(nabla VERSION \([0-9][0-9.]*\).*/\1/p' <<<"$project_lines")"
if [[ -z "$version" ]]; then
    echo "consumer ($mode): no 'project(nabla VERSION ...)' line in nabla's CMakeLists.txt" >&2
    exit 1
fi

rm -rf "$scratch"
mkdir -p "$scratch"
scratch="$(cd "$scratch" && pwd)"
prefix="$scratch/prefix"
# The consumer's own flags: header-only, optimised enough to train XOR in a moment.
consumer_args=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=$opt -DNDEBUG")

# step <what> <command...>: runs the command with its output in <scratch>/<n>.log, shown only
# when it fails.
n=0
step() {
    local what="$1"
    shift
    n=$((n + 1))
    local log="$scratch/$n-${what// /_}.log"
    echo "consumer ($mode): $what" >&2
    if ! "$@" >"$log" 2>&1; then
        echo "consumer ($mode): $what failed: $*" >&2
        cat "$log" >&2
        exit 1
    fi
}

install_nabla() {
    step "configure nabla" cmake -S "$src" -B "$scratch/nabla-build" -DNABLA_BUILD_TESTS=OFF \
        -DNABLA_BUILD_EXAMPLES=OFF -DNABLA_BUILD_BENCHMARKS=OFF
    step "install nabla" cmake --install "$scratch/nabla-build" --prefix "$prefix"
}

# check_line <file> <expected line>: the file holds exactly that one line.
check_line() {
    local got
    got="$(cat "$1")"
    if [[ "$got" != "$2" ]]; then
        echo "consumer ($mode): expected the line" >&2
        echo "    $2" >&2
        echo "got" >&2
        printf '%s\n' "$got" | sed 's/^/    /' >&2
        exit 1
    fi
}

build_consumer() {  # build_consumer <cmake args...>
    step "configure the consumer" cmake -S "$here" -B "$scratch/consumer-build" \
        "${consumer_args[@]}" "$@"
    step "build the consumer" cmake --build "$scratch/consumer-build" -j 2
}

case "$mode" in
    find_package)
        install_nabla
        build_consumer -DNABLA_CONSUMER_MODE=find_package "-DCMAKE_PREFIX_PATH=$prefix"
        exe="$scratch/consumer-build/consumer"
        ;;
    subdirectory)
        build_consumer -DNABLA_CONSUMER_MODE=subdirectory "-DNABLA_SOURCE_DIR=$src"
        exe="$scratch/consumer-build/consumer"
        ;;
    fetchcontent)
        step "clone HEAD" git clone -q --no-checkout "$src" "$scratch/repo"
        # HEAD itself, also when it is detached or on no branch the clone copied.
        step "fetch HEAD" git -C "$scratch/repo" fetch -q "$src" HEAD
        step "tag v$version" git -C "$scratch/repo" tag -f "v$version" FETCH_HEAD
        if [[ -n "$(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
            echo "consumer ($mode): note: $src has uncommitted changes; this builds HEAD" >&2
        fi
        build_consumer -DNABLA_CONSUMER_MODE=fetchcontent \
            "-DNABLA_GIT_REPOSITORY=file://$scratch/repo" "-DNABLA_GIT_TAG=v$version"
        exe="$scratch/consumer-build/consumer"
        ;;
    pkg-config)
        install_nabla
        export PKG_CONFIG_PATH="$prefix/share/pkgconfig"
        pc_version="$(pkg-config --modversion nabla)"
        if [[ "$pc_version" != "$version" ]]; then
            echo "consumer ($mode): pkg-config says nabla $pc_version, CMakeLists.txt $version" >&2
            exit 1
        fi
        # Word splitting of pkg-config's output is what a Makefile or a shell line does.
        # shellcheck disable=SC2046
        step "compile the consumer" "${CXX:-g++}" -std=c++17 "$opt" "$here/main.cpp" \
            $(pkg-config --cflags --libs nabla) -o "$scratch/consumer"
        exe="$scratch/consumer"
        ;;
esac

step "run the consumer" "$exe" "$scratch/model.nbl"
check_line "$scratch/$n-run_the_consumer.log" \
    "consumer: nabla $version: trained, saved, loaded: accuracy 1.00"
cat "$scratch/$n-run_the_consumer.log"

if [[ "$mode" == subdirectory ]]; then
    # The parent's install brings nabla's headers and package files beside its own export,
    # which names nabla::nabla; a project downstream finds it and builds.
    step "install the consumer" cmake --install "$scratch/consumer-build" --prefix "$prefix"
    for file in include/nabla/nabla.hpp share/cmake/nabla/nablaConfig.cmake \
        share/pkgconfig/nabla.pc include/consumer_lib.hpp; do
        if [[ ! -f "$prefix/$file" ]]; then
            echo "consumer ($mode): the install holds no $file" >&2
            exit 1
        fi
    done
    step "configure downstream" cmake -S "$here/downstream" -B "$scratch/downstream-build" \
        "${consumer_args[@]}" "-DCMAKE_PREFIX_PATH=$prefix"
    step "build downstream" cmake --build "$scratch/downstream-build"
    step "run downstream" "$scratch/downstream-build/downstream"
    check_line "$scratch/$n-run_downstream.log" \
        "downstream: nabla $version, consumer_lib $version"
    cat "$scratch/$n-run_downstream.log"
fi
