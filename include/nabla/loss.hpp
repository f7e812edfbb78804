#pragma once

// Loss functions as stateless policy types. Each gives the batch cost (the mean over the
// samples, §1.6 of the notes) and what the output error δᴸ of equation (1) starts from. Targets y
// have the shape of the output: outputs × batch.
//
// A loss type provides
//
//     static constexpr const char* name();                  // saved in model files: "MyLoss"
//     static Scalar cost(const MatrixBase<A>& a, const MatrixBase<Y>& y);   // mean over the batch
//     static void gradient(const MatrixBase<A>& a, const MatrixBase<Y>& y, MatrixBase<G>& da);
//                                                           // ∂C/∂a per sample (not divided by n)
//
// and may provide traits (see LossTraits):
//
//     static constexpr const char* output_activation();     // the output σ it needs: "softmax"
//     static constexpr Accuracy accuracy;                   // how fit() scores the outputs
//
// A loss that needs a particular output σ may also fuse with it: instead of cost() and
// gradient() it gives the cost from the logits z and δᴸ itself, which is exact where going
// through ∂C/∂a would overflow (CrossEntropy: δᴸ = a − y where ∂C/∂a = −y/a):
//
//     static Scalar fused_cost(const MatrixBase<Z>& z, const MatrixBase<Y>& y);
//     static void fused_delta(const MatrixBase<A>& a, const MatrixBase<Y>& y, MatrixBase<D>& delta);

#include <nabla/detail/small.hpp>

#include <Eigen/Core>
#include <cmath>
#include <string_view>
#include <type_traits>
#include <utility>

namespace nabla {

/// How fit() scores a classifier's outputs against its targets.
enum class Accuracy {
    none,       ///< Not a classifier: no accuracy is recorded.
    argmax,     ///< One class per sample: the largest output against the largest target.
    threshold,  ///< Each output its own yes/no question: output > 0.5 against target > 0.5.
};

namespace detail {

template <class Loss, class = void>
struct HasOutputActivation : std::false_type {};
template <class Loss>
struct HasOutputActivation<Loss, std::void_t<decltype(Loss::output_activation())>>
    : std::true_type {};

template <class Loss, class = void>
struct HasAccuracy : std::false_type {};
template <class Loss>
struct HasAccuracy<Loss, std::void_t<decltype(Loss::accuracy)>> : std::true_type {};

template <class Loss, class = void>
struct IsFused : std::false_type {};
template <class Loss>
struct IsFused<Loss, std::void_t<decltype(Loss::fused_delta(
                         std::declval<const Eigen::MatrixXd&>(),
                         std::declval<const Eigen::MatrixXd&>(),
                         std::declval<Eigen::MatrixBase<Eigen::MatrixXd>&>()))>>
    : std::true_type {};

}  // namespace detail

/// What fit() and the networks read from a loss type, with the defaults of a loss that declares
/// nothing: any output activation, no accuracy, not fused.
template <class Loss>
struct LossTraits {
    /// The output activation the loss needs by name ("softmax"), or "" for any.
    static constexpr std::string_view output_activation() {
        if constexpr (detail::HasOutputActivation<Loss>::value)
            return Loss::output_activation();
        else
            return "";
    }
    /// How fit() scores the outputs.
    static constexpr Accuracy accuracy() {
        if constexpr (detail::HasAccuracy<Loss>::value)
            return Loss::accuracy;
        else
            return Accuracy::none;
    }
    /// True when the loss gives δᴸ itself (fused_cost, fused_delta).
    static constexpr bool fused = detail::IsFused<Loss>::value;

    /// True when the loss can be computed on an output activation of this name.
    static constexpr bool accepts(std::string_view activation) {
        return output_activation().empty() || output_activation() == activation;
    }
};

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

}  // namespace detail

/// C = Σⱼ (aⱼ − yⱼ)² per sample, ∂C/∂a = 2(a − y): the convention of §1–§2.4 of the notes.
struct SquaredError {
    /// "SquaredError", for messages and model files.
    static constexpr const char* name() { return "SquaredError"; }

    /// Mean over the batch of Σⱼ (aⱼ − yⱼ)².
    template <class A, class Y>
    static typename A::Scalar cost(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<Y>& y) {
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
struct HalfSquaredError {
    /// "HalfSquaredError", for messages and model files.
    static constexpr const char* name() { return "HalfSquaredError"; }

    /// Mean over the batch of ½‖a − y‖².
    template <class A, class Y>
    static typename A::Scalar cost(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<Y>& y) {
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
/// ∂C/∂a is not formed: −y/a would overflow where the fused δ is exact.
struct CrossEntropy {
    /// "CrossEntropy", for messages and model files.
    static constexpr const char* name() { return "CrossEntropy"; }
    /// Softmax outputs only.
    static constexpr const char* output_activation() { return "softmax"; }
    /// One class per sample.
    static constexpr Accuracy accuracy = Accuracy::argmax;

    /// Mean over the batch of Σⱼ yⱼ (logsumexp(z) − zⱼ).
    template <class Z, class Y>
    static typename Z::Scalar fused_cost(const Eigen::MatrixBase<Z>& z,
                                         const Eigen::MatrixBase<Y>& y) {
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
    template <class A, class Y, class D>
    static void fused_delta(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<Y>& y,
                            Eigen::MatrixBase<D>& delta) {
        for (Eigen::Index j = 0; j < y.cols(); ++j)
            delta.col(j) = y.col(j).sum() * a.col(j) - y.col(j);
    }
};

/// C = −Σⱼ [yⱼ log aⱼ + (1 − yⱼ) log(1 − aⱼ)] with a = σ(z), for sigmoid outputs only. The cost is
/// computed from the logits as Σⱼ max(zⱼ, 0) − zⱼyⱼ + log(1 + e^−|zⱼ|), finite for any z, and the
/// sigmoid derivative cancels: δᴸ = a − y. ∂C/∂a is not formed.
struct BinaryCrossEntropy {
    /// "BinaryCrossEntropy", for messages and model files.
    static constexpr const char* name() { return "BinaryCrossEntropy"; }
    /// Sigmoid outputs only.
    static constexpr const char* output_activation() { return "sigmoid"; }
    /// Each output its own yes/no question.
    static constexpr Accuracy accuracy = Accuracy::threshold;

    /// Mean over the batch of Σⱼ max(zⱼ, 0) − zⱼyⱼ + log(1 + e^−|zⱼ|).
    template <class Z, class Y>
    static typename Z::Scalar fused_cost(const Eigen::MatrixBase<Z>& z,
                                         const Eigen::MatrixBase<Y>& y) {
        using Scalar = typename Z::Scalar;
        const Scalar total = (z.array().max(Scalar(0)) - z.array() * y.array() +
                              (-z.array().abs()).exp().log1p())
                                 .sum();
        return total / Scalar(z.cols());
    }

    /// δᴸ = a − y: equation (1) with σ'(z) multiplied out.
    template <class A, class Y, class D>
    static void fused_delta(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<Y>& y,
                            Eigen::MatrixBase<D>& delta) {
        delta.derived() = a - y;
    }
};

}  // namespace nabla
