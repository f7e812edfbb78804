#pragma once

// Checks of numeric options (initializer gains, optimizer hyperparameters, schedule settings).
// Each throws ConfigError whose message names the owner, the option and the value given:
// "nabla: Adam: beta2 must be in [0, 1), got 1".

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>

#include <cmath>

namespace nabla::detail {

/// Throws ConfigError unless `value` is finite.
inline void check_finite_option(const char* owner, const char* option, double value) {
    if (!std::isfinite(value)) {
        throw ConfigError(cat(owner, ": ", option, " must be finite, got ", value));
    }
}

/// Throws ConfigError unless `value` is finite and above 0.
inline void check_positive_option(const char* owner, const char* option, double value) {
    if (!(std::isfinite(value) && value > 0)) {
        throw ConfigError(cat(owner, ": ", option, " must be positive and finite, got ", value));
    }
}

/// Throws ConfigError unless `value` is finite and at least 0.
inline void check_non_negative_option(const char* owner, const char* option, double value) {
    if (!(std::isfinite(value) && value >= 0)) {
        throw ConfigError(cat(owner, ": ", option, " must be finite and 0 or more, got ", value));
    }
}

/// Throws ConfigError unless lo ≤ value < hi.
inline void check_half_open_option(const char* owner, const char* option, double value,
                                   double lo, double hi) {
    if (!(value >= lo && value < hi)) {
        throw ConfigError(cat(owner, ": ", option, " must be in [", lo, ", ", hi, "), got ",
                              value));
    }
}

}  // namespace nabla::detail
