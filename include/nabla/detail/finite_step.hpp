#pragma once

// Whether a plain gradient-descent step can be added straight into W, without ∂C/∂W stored first.
//
// Why: train_step refuses a step whose gradient is not finite and leaves the weights as they
// were. With ∂C/∂W stored, that is a check of ∂C/∂W before W changes. Folded into W (one product
// W += α δaᵀ with α = −η/n, which reads and writes W once instead of writing ∂C/∂W, reading it to
// check it and reading it again to update), there is no ∂C/∂W to look at before W changes, so the
// check moves to the operands. With D = max|δ| and A = max|a| finite, each entry of δaᵀ is a sum
// of n products no larger than D·A, and its floating-point value is at most n·D·A·(1 + u)ⁿ, which
// is below e·n·D·A while n·u ≤ 1 (u the unit roundoff). Keeping n·D·max(A, 1) and
// |η|·D·max(A, 1) below a quarter of the largest finite number therefore keeps δaᵀ, α δaᵀ, Σδ
// and (η/n) Σδ finite: a step that passes would also have passed the check of the stored ∂C/∂W.
// A step that fails (a NaN or infinity, or values within a factor of 4 of overflow) goes the
// stored and checked way, which decides it exactly as before, so the result of the check is
// never changed by the fold.

#include <nabla/detail/format.hpp>
#include <nabla/detail/small.hpp>
#include <nabla/error.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

namespace nabla::detail {

/// The largest |entry| of m: NaN when m holds a NaN, +∞ when it holds an infinity.
template <class M>
typename M::Scalar max_abs(const Eigen::MatrixBase<M>& m) {
    using Scalar = typename M::Scalar;
    if (is_small_map(m.rows(), m.cols())) {
        // Entry by entry, as all_finite() does, for the same reason: the small products have
        // just stored these entries one at a time (detail/small.hpp).
        Scalar largest(0);
        bool nan = false;
        for (Eigen::Index k = 0; k < m.cols(); ++k) {
            for (Eigen::Index j = 0; j < m.rows(); ++j) {
                const Scalar entry = std::abs(m.coeff(j, k));
                nan = nan || entry != entry;
                largest = entry > largest ? entry : largest;
            }
        }
        return nan ? std::numeric_limits<Scalar>::quiet_NaN() : largest;
    }
    return m.cwiseAbs().template maxCoeff<Eigen::PropagateNaN>();
}

/// step_is_finite() from extents already measured: d = max|δ| and a = max|a| (NaN or ∞ when an
/// entry is not finite) over a batch of n samples.
template <class Scalar>
bool step_is_finite(Scalar d, Scalar a, Scalar n, Scalar learning_rate) {
    if (!std::isfinite(learning_rate)) return false;
    // (1 + u)ⁿ < e needs n·u ≤ 1; epsilon() is 2u, so this is the stricter n·2u ≤ 1.
    if (n * Eigen::NumTraits<Scalar>::epsilon() > Scalar(1)) return false;
    a = std::max(a, Scalar(1));  // a NaN stays NaN
    if (!std::isfinite(d) || !std::isfinite(a)) return false;
    const Scalar quarter = std::numeric_limits<Scalar>::max() / Scalar(4);
    return d <= quarter / a / std::max(n, std::abs(learning_rate));
}

/// True when the step W ← W − (η/n) δ aᵀ, b ← b − (η/n) Σδ is known to add only finite
/// increments (see the top of this file): δ is outputs × n, a (the layer's input) inputs × n.
/// False means "not known", not "not finite".
template <class Delta, class Input>
bool step_is_finite(const Eigen::MatrixBase<Delta>& delta, const Eigen::MatrixBase<Input>& input,
                    typename Delta::Scalar learning_rate) {
    using Scalar = typename Delta::Scalar;
    return step_is_finite(max_abs(delta), max_abs(input), Scalar(delta.cols()), learning_rate);
}

/// The largest |p| over every parameter of `net`: NaN when one is NaN, +∞ when one is infinite.
template <class Net>
typename Net::Scalar max_abs_parameter(const Net& net) {
    using Scalar = typename Net::Scalar;
    Scalar largest(0);
    bool nan = false;
    net.for_each_layer([&](const auto& layer, auto) {
        layer.for_each_parameter([&](const auto& block, const char*) {
            const Scalar extent = max_abs(block);
            nan = nan || extent != extent;
            largest = extent > largest ? extent : largest;
        });
    });
    return nan ? std::numeric_limits<Scalar>::quiet_NaN() : largest;
}

/// A change that cannot carry a finite number past the largest: a quarter of the gap between the
/// largest finite number and the one below it. A value of magnitude up to largest + gap/2 rounds
/// to a finite number, so p − d stays finite for every finite p once |d| is at most this, and
/// the step needs no look at the parameters. (largest·ε/8 is just below that quarter gap.)
template <class Scalar>
constexpr Scalar harmless_change() {
    return std::numeric_limits<Scalar>::max() * std::numeric_limits<Scalar>::epsilon() / Scalar(8);
}

/// True when p ← p − η g is known to stay finite from its extents: P = max|p| and |η|·G, with
/// G = max|g|, each at most a quarter of the largest finite number, so that their sum (and its
/// rounding) is at most half of it. False means "not known", not "not finite".
template <class Scalar>
bool descent_is_finite(Scalar max_parameter, Scalar max_gradient, Scalar learning_rate) {
    const Scalar quarter = std::numeric_limits<Scalar>::max() / Scalar(4);
    return max_parameter <= quarter && max_gradient <= quarter &&
           max_gradient * std::abs(learning_rate) <= quarter;  // false for a NaN
}

/// The words that name a scalar type in messages: "float", "double".
template <class Scalar>
constexpr const char* scalar_name() {
    if constexpr (std::is_same_v<Scalar, float>)
        return "float";
    else if constexpr (std::is_same_v<Scalar, double>)
        return "double";
    else
        return "the network's scalar type";
}

/// True when the learning rate η, finite and ≥ 0 as a double, is 0 or a normal number of
/// `Scalar` (check_learning_rate_in() says why not).
template <class Scalar>
bool learning_rate_fits(double learning_rate) {
    return learning_rate == 0 ||
           (learning_rate >= double(std::numeric_limits<Scalar>::min()) &&
            learning_rate <= double(std::numeric_limits<Scalar>::max()));
}

/// Throws ConfigError, naming `owner`, when the learning rate η, finite and ≥ 0 as a double,
/// is not usable in `Scalar`: past its largest finite value (η becomes ∞) or above 0 but below
/// its smallest normal value (η becomes 0 once cast, or once denormals are flushed, and the
/// network would silently not learn).
template <class Scalar>
void check_learning_rate_in(const char* owner, double learning_rate) {
    const double largest = double(std::numeric_limits<Scalar>::max());
    const double smallest = double(std::numeric_limits<Scalar>::min());
    if (learning_rate > largest) {
        throw ConfigError(cat(owner, ": the learning rate ", learning_rate, " is not finite in ",
                              scalar_name<Scalar>(), " (the largest is ", largest,
                              "); the weights were not changed"));
    }
    if (learning_rate > 0 && learning_rate < smallest) {
        throw ConfigError(cat(owner, ": the learning rate ", learning_rate, " rounds to 0 in ",
                              scalar_name<Scalar>(), " (the smallest normal number is ", smallest,
                              "): the network would not learn; the weights were not changed"));
    }
}

/// Throws NumericalError, its message starting with where(), unless p ← p − η g for every
/// parameter block p of `net` and its gradient g in `gradients` (a gradient array laid out as
/// the parameter list, parameters.hpp) stays finite. Decided from the extents when they
/// suffice (descent_is_finite), else entry by entry; nothing is written either way.
template <class Net, class Gradients, class Where>
void check_descent_finite(const Net& net, const Eigen::MatrixBase<Gradients>& gradients,
                          typename Net::Scalar learning_rate, const Where& where) {
    using Scalar = typename Net::Scalar;
    const Scalar max_gradient = max_abs(gradients);
    if (max_gradient * std::abs(learning_rate) <= harmless_change<Scalar>()) return;  // no NaN
    const Scalar max_parameter = max_abs_parameter(net);
    if (descent_is_finite(max_parameter, max_gradient, learning_rate)) return;
    bool finite = true;
    Eigen::Index offset = 0;
    net.for_each_layer([&](const auto& layer, auto) {
        layer.for_each_parameter([&](const auto& block, const char*) {
            const auto g = gradients.derived().segment(offset, block.size());
            finite = finite && (block.reshaped().array() - learning_rate * g.array())
                                   .isFinite()
                                   .all();
            offset += block.size();
        });
    });
    if (finite) return;
    throw NumericalError(cat(where(), ": the step p <- p - eta*dC/dp would make a parameter not "
                                      "finite in ",
                             scalar_name<Scalar>(), " (eta = ", learning_rate,
                             ", largest |dC/dp| = ", max_gradient, ", largest |p| = ",
                             max_parameter,
                             "); the weights are left as they were before this step. Lower the "
                             "learning rate, or scale the inputs"));
}

}  // namespace nabla::detail
