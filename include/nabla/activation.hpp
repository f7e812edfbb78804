#pragma once

// Activation functions as policy types: a = σ(z) forward, δ = J_σ(z)ᵀ ∂C/∂a backward. Matrices
// hold one sample per column. Element-wise activations use the Hadamard form of the notes
// (§2.5): their Jacobian is diagonal, so δ = ∂C/∂a ⊙ σ'(z) and no n×n matrix is ever built.
//
// An activation is a type with
//
//     static constexpr const char* name();   // "swish": model files and run-time choices use it
//     template <class Z, class A>
//     void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const;   // a = σ(z)
//     template <class Z, class A, class G, class D>
//     void backward(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>& a,
//                   const Eigen::MatrixBase<G>& da, Eigen::MatrixBase<D>& delta) const;
//                                            // δ = J_σ(z)ᵀ ∂C/∂a, column by column
//
// An element-wise σ derives from ElementWise<Self> and gives, instead of backward(),
//
//     template <class Z, class A>
//     auto derivative(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>& a) const;
//                                            // σ'(z) as an array expression of z's shape
//
// It may also declare `static constexpr bool rectifier = true;` (DefaultInit then draws He
// rather than Glorot), and, when it has parameters, `void write_attributes(Attributes&) const`
// and `static Self from_attributes(const Attributes&)`, which save and load them (LeakyReLU's
// slope). docs/extending.md writes one in a file of its own; register_activation<Self>()
// (any_activation.hpp) lets a program choose it by name and load models that use it.

#include <nabla/attributes.hpp>

#include <Eigen/Core>
#include <cmath>
#include <string_view>
#include <type_traits>

namespace nabla {

/// The activation functions of nabla's first model format, by enumerator (AnyActivation names any
/// activation by its name(); these six also by kind). `custom` stands for every other one.
enum class ActivationKind { identity, sigmoid, tanh, relu, leaky_relu, softmax, custom };
/// \var ActivationKind::identity
/// Identity: a = z.
/// \var ActivationKind::sigmoid
/// Sigmoid: a = 1 / (1 + e^−z).
/// \var ActivationKind::tanh
/// Tanh: a = tanh(z).
/// \var ActivationKind::relu
/// ReLU: a = max(0, z).
/// \var ActivationKind::leaky_relu
/// LeakyReLU: a = z for z > 0, else slope·z.
/// \var ActivationKind::softmax
/// Softmax: aᵢ = e^zᵢ / Σⱼ e^zⱼ per column.
/// \var ActivationKind::custom
/// Any other activation, known by its name() only.

/// The lower-case name of an activation kind, as written in model files and on command lines.
constexpr std::string_view to_string(ActivationKind kind) {
    switch (kind) {
        case ActivationKind::identity: return "identity";
        case ActivationKind::sigmoid: return "sigmoid";
        case ActivationKind::tanh: return "tanh";
        case ActivationKind::relu: return "relu";
        case ActivationKind::leaky_relu: return "leaky_relu";
        case ActivationKind::softmax: return "softmax";
        case ActivationKind::custom: return "custom";
    }
    return "unknown";
}

/// The backward pass of an element-wise activation, for it to derive from: equations (1) and
/// (4) in Hadamard form, from the derivative() that `Derived` gives.
template <class Derived>
struct ElementWise {
    /// δ = ∂C/∂a ⊙ σ'(z), column by column of the batch.
    template <class Z, class A, class G, class D>
    void backward(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>& a,
                  const Eigen::MatrixBase<G>& da, Eigen::MatrixBase<D>& delta) const {
        delta.derived().array() =
            da.array() * static_cast<const Derived&>(*this).derivative(z, a);
    }
};

/// True when σ of type A acts on each entry of z alone (A derives from ElementWise): then
/// a = σ(z) and δ of any rows can be computed apart from the others, as DataParallel's split by
/// neurons does. Softmax, which mixes the entries of a column, is not.
template <class A>
inline constexpr bool is_elementwise_v = std::is_base_of_v<ElementWise<A>, A>;

namespace detail {

/// True when activation type A declares `static constexpr bool rectifier`.
template <class A, class = void>
struct DeclaresRectifier : std::false_type {};
template <class A>
struct DeclaresRectifier<A, std::enable_if_t<std::is_same_v<
                                std::decay_t<decltype(A::rectifier)>, bool>>> : std::true_type {};

/// ElementWise, under the name it had before it was public.
template <class Derived>
using ElementWise = nabla::ElementWise<Derived>;
}  // namespace detail

/// a = z; σ'(z) = 1. The output of a regression net.
struct Identity : ElementWise<Identity> {
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
struct Sigmoid : ElementWise<Sigmoid> {
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
struct Tanh : ElementWise<Tanh> {
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
struct ReLU : ElementWise<ReLU> {
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
struct LeakyReLU : ElementWise<LeakyReLU> {
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

    /// {"slope": slope}, what a model file keeps.
    void write_attributes(Attributes& out) const { out.set("slope", slope); }
    /// The leaky ReLU whose slope `in` gives (0.01 when it gives none).
    static LeakyReLU from_attributes(const Attributes& in) {
        return LeakyReLU(in.get_or("slope", 0.01));
    }

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

/// a = α(e^z − 1) for z ≤ 0, z otherwise (Clevert et al.); σ'(z) = 1 for z > 0, a + α below,
/// taken from the stored a. α (1 by default) is saved with the model.
struct ELU : ElementWise<ELU> {
    /// "elu": how model files and run-time choices name it.
    static constexpr const char* name() { return "elu"; }
    /// True: ReLU-like, so its layers start from He initialisation.
    static constexpr bool rectifier = true;

    /// The value −α approached for z → −∞.
    double alpha = 1;

    /// α = 1.
    constexpr ELU() = default;
    /// The given α, e.g. `ELU{0.5}`.
    constexpr explicit ELU(double alpha_) : alpha(alpha_) {}

    /// {"alpha": α}, what a model file keeps.
    void write_attributes(Attributes& out) const { out.set("alpha", alpha); }
    /// The ELU whose α `in` gives (1 when it gives none).
    static ELU from_attributes(const Attributes& in) { return ELU(in.get_or("alpha", 1.0)); }

    /// a = z > 0 ? z : α(e^z − 1), with e^z − 1 from expm1 so small |z| keep their digits.
    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        using Scalar = typename Z::Scalar;
        a.derived().array() = (z.array() > Scalar(0))
                                  .select(z.array(), Scalar(alpha) * z.array().unaryExpr([](Scalar v) {
                                      return Scalar(std::expm1(v));
                                  }));
    }

    /// σ'(z) = z > 0 ? 1 : a + α.
    template <class Z, class A>
    auto derivative(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>& a) const {
        using Scalar = typename Z::Scalar;
        return (z.array() > Scalar(0)).select(Scalar(1), a.array() + Scalar(alpha));
    }
};

/// a = log(1 + e^z), a smooth ReLU; σ'(z) = 1 / (1 + e^−z), the logistic sigmoid. Computed as
/// max(z, 0) + log1p(e^−|z|), which neither overflows for large z nor loses z for small.
struct Softplus : ElementWise<Softplus> {
    /// "softplus": how model files and run-time choices name it.
    static constexpr const char* name() { return "softplus"; }
    /// True: ReLU-like, so its layers start from He initialisation.
    static constexpr bool rectifier = true;

    /// a = max(z, 0) + log1p(e^−|z|).
    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        using Scalar = typename Z::Scalar;
        a.derived().array() = z.array().max(Scalar(0)) + (-z.array().abs()).exp().log1p();
    }

    /// σ'(z) = 1 / (1 + e^−z).
    template <class Z, class A>
    auto derivative(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>&) const {
        using Scalar = typename Z::Scalar;
        return Scalar(1) / (Scalar(1) + (-z.array()).exp());
    }
};

/// a = z·Φ(z) = ½z(1 + erf(z/√2)), the Gaussian error linear unit (Hendrycks & Gimpel), exact
/// as torch.nn.GELU computes it by default; σ'(z) = Φ(z) + z·φ(z), with φ the standard normal
/// density. Φ(z) is taken as ½erfc(−z/√2), which keeps its digits for large negative z where
/// 1 + erf(z/√2) would cancel.
struct GELU : ElementWise<GELU> {
    /// "gelu": how model files and run-time choices name it.
    static constexpr const char* name() { return "gelu"; }
    /// True: ReLU-like, so its layers start from He initialisation.
    static constexpr bool rectifier = true;

    /// a = ½z·erfc(−z/√2).
    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        using Scalar = typename Z::Scalar;
        a.derived().array() = z.array().unaryExpr([](Scalar v) {
            return Scalar(0.5) * v * Scalar(std::erfc(-v * Scalar(0.70710678118654752440)));
        });
    }

    /// σ'(z) = ½erfc(−z/√2) + z·e^(−z²/2)/√(2π).
    template <class Z, class A>
    auto derivative(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>&) const {
        using Scalar = typename Z::Scalar;
        return z.array().unaryExpr([](Scalar v) {
            const Scalar cdf = Scalar(0.5) * Scalar(std::erfc(-v * Scalar(0.70710678118654752440)));
            const Scalar pdf = Scalar(std::exp(-Scalar(0.5) * v * v) * 0.39894228040143267794);
            return cdf + v * pdf;
        });
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
