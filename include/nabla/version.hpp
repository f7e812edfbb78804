#pragma once

#include <nabla/detail/requires_cxx17.hpp>

/// nabla's version as three integers, for `#if` checks in user code.
#define NABLA_VERSION_MAJOR 0
#define NABLA_VERSION_MINOR 1
#define NABLA_VERSION_PATCH 0

namespace nabla {

/// The version of the headers in use, "major.minor.patch".
inline constexpr const char* version = "0.1.0";

}  // namespace nabla
