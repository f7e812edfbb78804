#pragma once

// Small helpers shared by the tests; nothing here is under test.

#include <nabla/parameters.hpp>
#include <nabla/random.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <string>

namespace nabla_test {

/// Runs f, which must throw an E; returns its what(). Fails (returns a marker) otherwise, so a
/// CHECK on the text fails visibly.
template <class E, class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("<wrong exception type: ") + e.what() + ">";
    }
    return "<no exception>";
}

/// True when `part` occurs in `text`.
inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// True when a and b differ by at most `tolerance` times the larger of |a| and |b|.
inline bool relatively_close(double a, double b, double tolerance) {
    return std::abs(a - b) <= tolerance * std::max(std::abs(a), std::abs(b));
}

/// True when every parameter (each W and b) of the two networks is equal entry for entry, and
/// they have as many.
template <class NetA, class NetB>
bool same_parameters(const NetA& a, const NetB& b) {
    return a.parameter_count() == b.parameter_count() &&
           nabla::copy_parameters(a) == nabla::copy_parameters(b);
}

/// A rows × cols matrix of U(lo, hi) values from a seeded generator (Eigen's Random is not
/// seedable per call).
template <class Matrix>
Matrix random_matrix(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed, double lo = -1,
                     double hi = 1) {
    nabla::Rng rng(seed);
    Matrix m(rows, cols);
    for (Eigen::Index k = 0; k < cols; ++k)
        for (Eigen::Index j = 0; j < rows; ++j)
            m(j, k) = typename Matrix::Scalar(rng.uniform(lo, hi));
    return m;
}

/// One-hot columns: column k has a 1 in row (k * 7 + 3) mod rows.
template <class Matrix>
Matrix one_hot_targets(Eigen::Index rows, Eigen::Index cols) {
    Matrix y = Matrix::Zero(rows, cols);
    for (Eigen::Index k = 0; k < cols; ++k) y((k * 7 + 3) % rows, k) = 1;
    return y;
}

}  // namespace nabla_test
