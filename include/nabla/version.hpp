#pragma once

/// \file
/// nabla's version, as macros for `#if` checks in user code and as a string.

#include <nabla/detail/requires_cxx17.hpp>

/// The major version: 0 until the API is stable.
#define NABLA_VERSION_MAJOR 0
/// The minor version: at 0.x, a new one may break source compatibility (CHANGELOG.md).
#define NABLA_VERSION_MINOR 2
/// The patch version: fixes that break nothing.
#define NABLA_VERSION_PATCH 0

namespace nabla {

/// The version of the headers in use, "major.minor.patch".
inline constexpr const char* version = "0.2.0";

}  // namespace nabla
