#pragma once

// Loss functions as stateless policy types. Each gives the batch cost (the mean over the
// samples, §1.6 of the notes) and the output error δᴸ of equation (1). Targets y have the shape of
// the output: outputs × batch.

#include <nabla/activation.hpp>
#include <nabla/detail/small.hpp>

#include <Eigen/Core>
#include <cmath>

namespace nabla {

namespace detail {

/// Σ (a − y)² over every entry. A small output (detail/small.hpp) is summed entry by entry with
/// an explicit fused multiply-add, so that sizes fixed at compile time and sizes known at run
/// time give the same bits, as the small products do: Eigen's reduction is unrolled for a fixed
/// size and looped for a run-time one, and the compiler may fuse either differently.
template <class A, class Y>
typename A::Scalar squared_distance(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<Y>& y) {
    using Scalar = typename A::Scalar;
    if (is_small_map(a.rows(), a.cols())) {
        Scalar sum(0);
        for (Eigen::Index k = 0; k < a.cols(); ++k) {
            for (Eigen::Index j = 0; j < a.rows(); ++j) {
                const Scalar d = a.coeff(j, k) - y.coeff(j, k);
                sum = std::fma(d, d, sum);
            }
        }
        return sum;
    }
    return (a - y).squaredNorm();
}

/// Shared output error of the losses that go through ∂C/∂a: equation (1), δᴸ = J_σᵀ ∂C/∂aᴸ, which
/// is ∂C/∂aᴸ ⊙ σ'(zᴸ) for element-wise σ and the softmax Jacobian-vector product otherwise.
template <class Derived>
struct ChainRuleLoss {
    /// Any output activation fits.
    static constexpr bool accepts(ActivationKind) { return true; }

    /// Fills state.da = ∂C/∂aᴸ (per sample) and state.delta = δᴸ.
    template <class Activation, class State, class Y>
    static void output_delta(const Activation& activation, State& state,
                             const Eigen::MatrixBase<Y>& y) {
        Derived::gradient(state.a, y, state.da);
        activation.backward(state.z, state.a, state.da, state.delta);
    }
};

}  // namespace detail

/// C = Σⱼ (aⱼ − yⱼ)² per sample, ∂C/∂a = 2(a − y): the convention of §1–§2.4 of the notes.
struct SquaredError : detail::ChainRuleLoss<SquaredError> {
    /// "SquaredError", for messages.
    static constexpr const char* name() { return "SquaredError"; }

    /// Mean over the batch of Σⱼ (aⱼ − yⱼ)².
    template <class Activation, class Z, class A, class Y>
    static typename A::Scalar cost(const Activation&, const Eigen::MatrixBase<Z>&,
                                   const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<Y>& y) {
        return detail::squared_distance(a, y) / typename A::Scalar(a.cols());
    }

    /// ∂C/∂a = 2(a − y), per sample.
    template <class A, class Y, class G>
    static void gradient(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<Y>& y,
                         Eigen::MatrixBase<G>& da) {
        da.derived() = typename A::Scalar(2) * (a - y);
    }
};

/// C = ½‖a − y‖² per sample, ∂C/∂a = a − y: the convention of §2.5 on and of both worked
/// examples. Every gradient is exactly half that of SquaredError.
struct HalfSquaredError : detail::ChainRuleLoss<HalfSquaredError> {
    /// "HalfSquaredError", for messages.
    static constexpr const char* name() { return "HalfSquaredError"; }

    /// Mean over the batch of ½‖a − y‖².
    template <class Activation, class Z, class A, class Y>
    static typename A::Scalar cost(const Activation&, const Eigen::MatrixBase<Z>&,
                                   const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<Y>& y) {
        return detail::squared_distance(a, y) / typename A::Scalar(2 * a.cols());
    }

    /// ∂C/∂a = a − y, per sample.
    template <class A, class Y, class G>
    static void gradient(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<Y>& y,
                         Eigen::MatrixBase<G>& da) {
        da.derived() = a - y;
    }
};

/// C = −Σⱼ yⱼ log aⱼ with a = softmax(z), for softmax outputs only. The cost is computed from the
/// logits as Σⱼ yⱼ (logsumexp(z) − zⱼ), so it stays finite for logits of ±1e4, and the softmax
/// Jacobian fuses away: δᴸ = (Σⱼ yⱼ) a − y, which is a − y for one-hot or probability targets.
/// state.da is not formed: −y/a would overflow where the fused δ is exact.
struct CrossEntropy {
    /// "CrossEntropy", for messages.
    static constexpr const char* name() { return "CrossEntropy"; }
    /// Softmax outputs only.
    static constexpr bool accepts(ActivationKind kind) { return kind == ActivationKind::softmax; }

    /// Mean over the batch of Σⱼ yⱼ (logsumexp(z) − zⱼ).
    template <class Activation, class Z, class A, class Y>
    static typename Z::Scalar cost(const Activation&, const Eigen::MatrixBase<Z>& z,
                                   const Eigen::MatrixBase<A>&, const Eigen::MatrixBase<Y>& y) {
        using Scalar = typename Z::Scalar;
        Scalar total(0);
        for (Eigen::Index j = 0; j < z.cols(); ++j) {
            const Scalar top = z.col(j).maxCoeff();
            const Scalar log_sum_exp = top + std::log((z.col(j).array() - top).exp().sum());
            total += y.col(j).sum() * log_sum_exp - y.col(j).dot(z.col(j));
        }
        return total / Scalar(z.cols());
    }

    /// δᴸ = (Σⱼ yⱼ) a − y per column: equation (1) with the softmax Jacobian multiplied out.
    template <class Activation, class State, class Y>
    static void output_delta(const Activation&, State& state, const Eigen::MatrixBase<Y>& y) {
        for (Eigen::Index j = 0; j < y.cols(); ++j) {
            state.delta.col(j) = y.col(j).sum() * state.a.col(j) - y.col(j);
        }
    }
};

/// C = −Σⱼ [yⱼ log aⱼ + (1 − yⱼ) log(1 − aⱼ)] with a = σ(z), for sigmoid outputs only. The cost is
/// computed from the logits as Σⱼ max(zⱼ, 0) − zⱼyⱼ + log(1 + e^−|zⱼ|), finite for any z, and the
/// sigmoid derivative cancels: δᴸ = a − y. state.da is not formed.
struct BinaryCrossEntropy {
    /// "BinaryCrossEntropy", for messages.
    static constexpr const char* name() { return "BinaryCrossEntropy"; }
    /// Sigmoid outputs only.
    static constexpr bool accepts(ActivationKind kind) { return kind == ActivationKind::sigmoid; }

    /// Mean over the batch of Σⱼ max(zⱼ, 0) − zⱼyⱼ + log(1 + e^−|zⱼ|).
    template <class Activation, class Z, class A, class Y>
    static typename Z::Scalar cost(const Activation&, const Eigen::MatrixBase<Z>& z,
                                   const Eigen::MatrixBase<A>&, const Eigen::MatrixBase<Y>& y) {
        using Scalar = typename Z::Scalar;
        const Scalar total = (z.array().max(Scalar(0)) - z.array() * y.array() +
                              (-z.array().abs()).exp().log1p())
                                 .sum();
        return total / Scalar(z.cols());
    }

    /// δᴸ = a − y: equation (1) with σ'(z) multiplied out.
    template <class Activation, class State, class Y>
    static void output_delta(const Activation&, State& state, const Eigen::MatrixBase<Y>& y) {
        state.delta = state.a - y;
    }
};

}  // namespace nabla
