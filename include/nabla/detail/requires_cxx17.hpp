#pragma once

// Stops a compile below C++17 at once, with a message that says so, instead of a cryptic error
// deep inside a header. Included by every header that includes no other nabla header, so every
// header reaches it. (MSVC keeps __cplusplus at 199711L unless /Zc:__cplusplus; _MSVC_LANG is
// right.) The #include of a file that does not exist then ends the compile: #error alone lets
// it go on into thousands of lines of C++14 errors.
#if defined(_MSVC_LANG) ? _MSVC_LANG < 201703L : __cplusplus < 201703L
#error "nabla needs C++17 or later: compile with -std=c++17 (the CMake target nabla::nabla sets it)"
#include <nabla/detail/stop_here_nabla_needs_cxx17>
#endif
