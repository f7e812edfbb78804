#pragma once

#include <nabla/detail/requires_cxx17.hpp>

#include <Eigen/Core>
#include <locale>
#include <sstream>
#include <string>

namespace nabla::detail {

/// Concatenates the arguments as text in the classic locale, so messages never depend on the
/// user's locale.
template <class... Parts>
std::string cat(const Parts&... parts) {
    std::ostringstream out;
    out.imbue(std::locale::classic());
    (out << ... << parts);
    return out.str();
}

/// "rows x cols", the way every shape appears in nabla's messages.
inline std::string shape(Eigen::Index rows, Eigen::Index cols) {
    return cat(rows, "x", cols);
}

/// "1 neuron" or "4 neurons": a count and its noun, made plural when the count is not 1.
inline std::string plural(Eigen::Index count, const char* noun) {
    return cat(count, " ", noun, count == 1 ? "" : "s");
}

/// "1 sample" or "4 samples".
inline std::string samples(Eigen::Index count) { return plural(count, "sample"); }

}  // namespace nabla::detail
