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

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

namespace nabla::detail {

/// The largest |entry| of m: NaN when m holds a NaN, +∞ when it holds an infinity.
template <class M>
typename M::Scalar max_abs(const Eigen::MatrixBase<M>& m) {
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

}  // namespace nabla::detail
