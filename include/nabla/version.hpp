#pragma once

#include <nabla/detail/requires_cxx17.hpp>

/// nabla's version as three integers, for `#if` checks in user code.
#define NABLA_VERSION_MAJOR 0
#define NABLA_VERSION_MINOR 2
#define NABLA_VERSION_PATCH 0

namespace nabla {

/// The version of the headers in use, "major.minor.patch".
inline constexpr const char* version = "0.2.0";

}  // namespace nabla
