# nabla_target_defaults(<target>)
#
# Flags for nabla's *own* tests, examples, benchmarks and fuzz targets: all warnings as errors,
# plus -march=native when NABLA_NATIVE is ON, plus the sanitizers of NABLA_SANITIZE. Everything is
# PRIVATE, so nothing here reaches the `nabla` interface target or its consumers.
include_guard(GLOBAL)
include(CheckCXXCompilerFlag)
include(CheckCXXSourceCompiles)

if(NABLA_NATIVE AND NOT MSVC)
    check_cxx_compiler_flag(-march=native NABLA_HAS_MARCH_NATIVE)
endif()

# GCC < 13 with AVX-512: the intrinsics' `__m512d __Y = __Y;` (_mm512_undefined_pd) makes Eigen's
# packet math report false -W(maybe-)uninitialized errors that system-header suppression misses.
# GCC bug 105593, fixed in GCC 13. The same combination also reports -Warray-bounds in Eigen's
# copies of small fixed-size matrices into run-time-sized ones (and in products reading them):
# the copy's 16-wide packet loop, which never runs for so few entries, is flagged as reading
# past the object once inlined; which call sites trip it moves with every inlining decision.
# Only that combination loses those three warnings. Kept as a
# global property: include_guard(GLOBAL) runs this once, and a directory variable would be unseen
# by nabla_target_defaults() calls from other directories of a parent project.
set_property(GLOBAL PROPERTY NABLA_GCC_AVX512_BUG OFF)
if(NABLA_HAS_MARCH_NATIVE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU"
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    set(CMAKE_REQUIRED_FLAGS -march=native)
    check_cxx_source_compiles("
        #ifndef __AVX512F__
        #error no AVX-512
        #endif
        int main() { return 0; }" NABLA_NATIVE_HAS_AVX512F)
    unset(CMAKE_REQUIRED_FLAGS)
    if(NABLA_NATIVE_HAS_AVX512F)
        set_property(GLOBAL PROPERTY NABLA_GCC_AVX512_BUG ON)
    endif()
endif()

# NABLA_SANITIZE (a -fsanitize= list such as address,undefined or thread; empty: none) builds
# nabla's own targets with those sanitizers, stopping at the first report
# (-fno-sanitize-recover=all), with frame pointers for whole stacks, and with NABLA_SANITIZE_FLAGS
# (default -O1 -g1: tests that run at a few times their Release time, and file:line in every
# stack; scripts/sanitize.sh trades run time for compile time with -O0), which come after the
# build type's flags and so win over its -O and -g. Checked here, so that a compiler or runtime
# without the sanitizer fails at configure time with a message instead of at the first link.
if(NABLA_SANITIZE)
    if(MSVC)
        message(FATAL_ERROR "NABLA_SANITIZE=${NABLA_SANITIZE}: only GCC and Clang are supported")
    endif()
    set(CMAKE_REQUIRED_FLAGS "-fsanitize=${NABLA_SANITIZE} -fno-sanitize-recover=all")
    set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=${NABLA_SANITIZE})
    string(MAKE_C_IDENTIFIER "NABLA_SANITIZE_WORKS_${NABLA_SANITIZE}" nabla_sanitize_check)
    check_cxx_source_compiles("int main() { return 0; }" ${nabla_sanitize_check})
    unset(CMAKE_REQUIRED_FLAGS)
    unset(CMAKE_REQUIRED_LINK_OPTIONS)
    if(NOT ${nabla_sanitize_check})
        message(FATAL_ERROR "NABLA_SANITIZE=${NABLA_SANITIZE}: ${CMAKE_CXX_COMPILER} cannot "
                            "compile and link with -fsanitize=${NABLA_SANITIZE} (on Debian, g++ "
                            "brings libasan, libubsan and libtsan; clang needs libclang-rt-dev)")
    endif()
endif()

function(nabla_target_defaults target)
    if(MSVC)
        target_compile_options(${target} PRIVATE /W4 /WX /permissive-)
    else()
        target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
    endif()
    if(NABLA_NATIVE AND NABLA_HAS_MARCH_NATIVE)
        target_compile_options(${target} PRIVATE -march=native)
        get_property(gcc_avx512_bug GLOBAL PROPERTY NABLA_GCC_AVX512_BUG)
        if(gcc_avx512_bug)
            target_compile_options(${target} PRIVATE -Wno-uninitialized -Wno-maybe-uninitialized
                                                     -Wno-array-bounds)
        endif()
    endif()
    if(NABLA_SANITIZE)
        separate_arguments(extra UNIX_COMMAND "${NABLA_SANITIZE_FLAGS}")
        target_compile_options(${target} PRIVATE -fsanitize=${NABLA_SANITIZE}
                               -fno-sanitize-recover=all -fno-omit-frame-pointer ${extra})
        target_link_options(${target} PRIVATE -fsanitize=${NABLA_SANITIZE})
    endif()
endfunction()
