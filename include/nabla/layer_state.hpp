#pragma once

#include <nabla/detail/small.hpp>

#include <Eigen/Core>

namespace nabla {

/// What one layer computes for one batch, kept in a workspace and readable after each pass: the
/// library doubles as the executable version of the notes. Columns are samples.
/// `Inputs`, `Outputs` and `Batch` are compile-time sizes or Eigen::Dynamic.
template <class Scalar, int Inputs, int Outputs, int Batch>
struct LayerState {
    /// outputs × batch, like z, a, ∂C/∂a and δ.
    using Activations = Eigen::Matrix<Scalar, Outputs, Batch>;
    /// outputs × inputs, like W.
    using Weights = Eigen::Matrix<Scalar, Outputs, Inputs>;
    /// outputs × 1, like b.
    using Bias = Eigen::Matrix<Scalar, Outputs, 1>;

    Activations z;      ///< zˡ = Wˡaˡ⁻¹ + bˡ.
    Activations a;      ///< aˡ = σ(zˡ).
    Activations da;     ///< ∂C/∂aˡ per sample: from the loss at the output, (Wˡ⁺¹)ᵀδˡ⁺¹ below it.
    Activations delta;  ///< δˡ = ∂C/∂zˡ per sample: equation (1) at the output, (4) below it.
    Weights dW;         ///< ∂C/∂Wˡ = mean over the batch of δˡ(aˡ⁻¹)ᵀ: equations (3) and (6).
    Bias db;            ///< ∂C/∂bˡ = mean over the batch of δˡ: equations (2) and (5).

    /// Sizes every buffer; a buffer that has its size already is left alone, so a repeated batch
    /// size costs a few comparisons.
    void resize(Eigen::Index inputs, Eigen::Index outputs, Eigen::Index batch) {
        detail::fit_shape(z, outputs, batch);
        detail::fit_shape(a, outputs, batch);
        detail::fit_shape(da, outputs, batch);
        detail::fit_shape(delta, outputs, batch);
        detail::fit_shape(dW, outputs, inputs);
        detail::fit_shape(db, outputs, 1);
    }

    /// True when every entry of ∂C/∂W and ∂C/∂b is finite.
    bool gradients_finite() const { return all_finite(dW) && all_finite(db); }

private:
    /// x·0 is 0 for every finite x and NaN for ±∞ and NaN, and a sum of zeros cannot overflow:
    /// one vectorised pass, where Eigen's allFinite() compares entry by entry (it cost 13% of a
    /// 784-256-128-10 training step). A small matrix is summed entry by entry instead: the small
    /// products (detail/small.hpp) have just stored it one entry at a time, and a vector load of
    /// such entries waits until those stores have completed.
    template <class M>
    static bool all_finite(const M& m) {
        if (detail::is_small_map(m.rows(), m.cols())) {
            Scalar sum(0);
            for (Eigen::Index k = 0; k < m.size() && k < detail::small_map_limit; ++k)
                sum += m.coeff(k) * Scalar(0);
            return sum == Scalar(0);
        }
        return (m.array() * Scalar(0)).sum() == Scalar(0);
    }
};

}  // namespace nabla
