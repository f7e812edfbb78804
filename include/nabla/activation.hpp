#pragma once

// Activation functions as stateless policy types: a = σ(z) forward, δ = J_σ(z)ᵀ ∂C/∂a backward.
// Matrices hold one sample per column. Element-wise activations use the Hadamard form of the
// notes (§2.5): their Jacobian is diagonal, so δ = ∂C/∂a ⊙ σ'(z) and no n×n matrix is ever built.

#include <Eigen/Core>
#include <string_view>

namespace nabla {

/// The activation functions nabla knows, for naming one at run time (see AnyActivation).
enum class ActivationKind { identity, sigmoid, tanh, relu, leaky_relu, softmax };

/// The lower-case name of an activation kind, as written in model files and on command lines.
constexpr std::string_view to_string(ActivationKind kind) {
    switch (kind) {
        case ActivationKind::identity: return "identity";
        case ActivationKind::sigmoid: return "sigmoid";
        case ActivationKind::tanh: return "tanh";
        case ActivationKind::relu: return "relu";
        case ActivationKind::leaky_relu: return "leaky_relu";
        case ActivationKind::softmax: return "softmax";
    }
    return "unknown";
}

namespace detail {

/// Shared backward pass of the element-wise activations: equations (1) and (4) in Hadamard form.
template <class Derived>
struct ElementWise {
    /// True: σ acts on each neuron alone and σ'(z) is a matrix of the shape of z.
    static constexpr bool is_elementwise = true;

    /// δ = ∂C/∂a ⊙ σ'(z), column by column of the batch.
    template <class Z, class A, class G, class D>
    void backward(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>& a,
                  const Eigen::MatrixBase<G>& da, Eigen::MatrixBase<D>& delta) const {
        delta.derived().array() =
            da.array() * static_cast<const Derived&>(*this).derivative(z, a);
    }
};

}  // namespace detail

/// a = z; σ'(z) = 1. The output of a regression net.
struct Identity : detail::ElementWise<Identity> {
    /// Identifies the policy at run time.
    static constexpr ActivationKind kind() { return ActivationKind::identity; }
    /// "identity": how model files and run-time choices name it.
    static constexpr const char* name() { return "identity"; }

    /// a = z.
    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        a.derived() = z;
    }

    /// σ'(z) = 1, as an array expression of the shape of z.
    template <class Z, class A>
    auto derivative(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>&) const {
        using Scalar = typename Z::Scalar;
        return Z::PlainObject::Constant(z.rows(), z.cols(), Scalar(1)).array();
    }
};

/// a = 1 / (1 + e^−z); σ'(z) = σ(z)(1 − σ(z)), taken from the stored a, as the notes derive it.
struct Sigmoid : detail::ElementWise<Sigmoid> {
    /// Identifies the policy at run time.
    static constexpr ActivationKind kind() { return ActivationKind::sigmoid; }
    /// "sigmoid": how model files and run-time choices name it.
    static constexpr const char* name() { return "sigmoid"; }

    /// a = σ(z). For z → −∞, e^−z overflows to +inf and a becomes exactly 0, never NaN.
    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        using Scalar = typename Z::Scalar;
        a.derived().array() = Scalar(1) / (Scalar(1) + (-z.array()).exp());
    }

    /// σ'(z) = a ⊙ (1 − a).
    template <class Z, class A>
    auto derivative(const Eigen::MatrixBase<Z>&, const Eigen::MatrixBase<A>& a) const {
        using Scalar = typename A::Scalar;
        return a.array() * (Scalar(1) - a.array());
    }
};

/// a = tanh(z); σ'(z) = 1 − a², taken from the stored a.
struct Tanh : detail::ElementWise<Tanh> {
    /// Identifies the policy at run time.
    static constexpr ActivationKind kind() { return ActivationKind::tanh; }
    /// "tanh": how model files and run-time choices name it.
    static constexpr const char* name() { return "tanh"; }

    /// a = tanh(z).
    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        a.derived().array() = z.array().tanh();
    }

    /// σ'(z) = 1 − a ⊙ a.
    template <class Z, class A>
    auto derivative(const Eigen::MatrixBase<Z>&, const Eigen::MatrixBase<A>& a) const {
        using Scalar = typename A::Scalar;
        return Scalar(1) - a.array().square();
    }
};

/// a = max(0, z); σ'(z) = 1 where z > 0, else 0 (the subgradient at 0 is taken as 0).
struct ReLU : detail::ElementWise<ReLU> {
    /// Identifies the policy at run time.
    static constexpr ActivationKind kind() { return ActivationKind::relu; }
    /// "relu": how model files and run-time choices name it.
    static constexpr const char* name() { return "relu"; }
    /// True: a rectifier, whose layers start from He initialisation.
    static constexpr bool rectifier = true;

    /// a = max(0, z).
    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        using Scalar = typename Z::Scalar;
        a.derived().array() = z.array().max(Scalar(0));
    }

    /// σ'(z) = [z > 0].
    template <class Z, class A>
    auto derivative(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>&) const {
        using Scalar = typename Z::Scalar;
        return (z.array() > Scalar(0)).template cast<Scalar>();
    }
};

/// a = z for z > 0, else slope·z; σ'(z) = 1 or slope. The slope (0.01 by default) is the one
/// piece of state an activation carries.
struct LeakyReLU : detail::ElementWise<LeakyReLU> {
    /// Identifies the policy at run time.
    static constexpr ActivationKind kind() { return ActivationKind::leaky_relu; }
    /// "leaky_relu": how model files and run-time choices name it.
    static constexpr const char* name() { return "leaky_relu"; }
    /// True: a rectifier, whose layers start from He initialisation.
    static constexpr bool rectifier = true;

    /// The gradient for z ≤ 0.
    double slope = 0.01;

    /// Slope 0.01.
    constexpr LeakyReLU() = default;
    /// The given slope for z ≤ 0, e.g. `LeakyReLU{0.2}`.
    constexpr explicit LeakyReLU(double negative_slope) : slope(negative_slope) {}

    /// a = z > 0 ? z : slope·z.
    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        using Scalar = typename Z::Scalar;
        a.derived().array() = (z.array() > Scalar(0)).select(z.array(), Scalar(slope) * z.array());
    }

    /// σ'(z) = z > 0 ? 1 : slope.
    template <class Z, class A>
    auto derivative(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>&) const {
        using Scalar = typename Z::Scalar;
        return (z.array() > Scalar(0)).template cast<Scalar>() * Scalar(1 - slope) + Scalar(slope);
    }
};

/// aᵢ = e^zᵢ / Σⱼ e^zⱼ per column. Not element-wise: its Jacobian J = diag(a) − a aᵀ is full, so
/// backward forms the product Jᵀ ∂C/∂a = a ⊙ (∂C/∂a − aᵀ∂C/∂a) without building J. With
/// CrossEntropy the loss fuses it to δ = a − y instead.
struct Softmax {
    /// Identifies the policy at run time.
    static constexpr ActivationKind kind() { return ActivationKind::softmax; }
    /// "softmax": how model files and run-time choices name it.
    static constexpr const char* name() { return "softmax"; }
    /// False: σ'(z) is not a matrix of the shape of z, so there is no derivative().
    static constexpr bool is_elementwise = false;

    /// a = softmax(z) per column, shifted by the column's maximum so e^z never overflows.
    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        for (Eigen::Index j = 0; j < z.cols(); ++j) {
            a.derived().col(j).array() = (z.col(j).array() - z.col(j).maxCoeff()).exp();
            a.derived().col(j) /= a.derived().col(j).sum();
        }
    }

    /// δ = Jᵀ ∂C/∂a = a ⊙ (∂C/∂a − (aᵀ ∂C/∂a) 1), per column.
    template <class Z, class A, class G, class D>
    void backward(const Eigen::MatrixBase<Z>&, const Eigen::MatrixBase<A>& a,
                  const Eigen::MatrixBase<G>& da, Eigen::MatrixBase<D>& delta) const {
        for (Eigen::Index j = 0; j < a.cols(); ++j) {
            const typename A::Scalar weighted = a.col(j).dot(da.col(j));
            delta.derived().col(j).array() = a.col(j).array() * (da.col(j).array() - weighted);
        }
    }
};

}  // namespace nabla
