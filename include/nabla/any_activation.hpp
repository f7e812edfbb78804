#pragma once

#include <nabla/activation.hpp>
#include <nabla/error.hpp>

#include <Eigen/Core>
#include <string>
#include <string_view>
#include <type_traits>

namespace nabla {

/// An activation chosen at run time (from a command line or a model file). It holds a kind and,
/// for leaky ReLU, a slope, and dispatches to the policy type once per call, that is once per
/// layer per batch, never per element.
class AnyActivation {
public:
    /// Not element-wise as far as the compiler knows: the kind is a run-time value.
    static constexpr bool is_elementwise = false;

    /// The identity.
    AnyActivation() = default;

    /// The activation `kind`; `slope` is used by leaky ReLU only.
    AnyActivation(ActivationKind kind, double slope = 0.01) : m_kind(kind), m_slope(slope) {}

    /// The run-time form of a policy type, e.g. `AnyActivation(ReLU{})`.
    template <class Policy,
              std::enable_if_t<std::is_same_v<decltype(Policy::kind()), ActivationKind>, int> = 0>
    AnyActivation(const Policy& policy) : m_kind(Policy::kind()) {
        if constexpr (std::is_same_v<Policy, LeakyReLU>) m_slope = policy.slope;
    }

    /// Parses "identity", "sigmoid", "tanh", "relu", "leaky_relu" or "softmax"; throws ConfigError
    /// naming the text and the accepted names otherwise.
    static AnyActivation parse(std::string_view name, double slope = 0.01) {
        for (ActivationKind kind : {ActivationKind::identity, ActivationKind::sigmoid,
                                    ActivationKind::tanh, ActivationKind::relu,
                                    ActivationKind::leaky_relu, ActivationKind::softmax}) {
            if (name == to_string(kind)) return AnyActivation(kind, slope);
        }
        throw ConfigError("unknown activation \"" + std::string(name) +
                          "\"; known: identity, sigmoid, tanh, relu, leaky_relu, softmax");
    }

    /// Which activation this is.
    ActivationKind kind() const { return m_kind; }
    /// The slope of leaky ReLU for z ≤ 0.
    double slope() const { return m_slope; }
    /// The lower-case name, as parse() reads it.
    std::string_view name() const { return to_string(m_kind); }
    /// True for ReLU and leaky ReLU, whose layers start from He initialisation.
    bool rectifier() const {
        return m_kind == ActivationKind::relu || m_kind == ActivationKind::leaky_relu;
    }

    /// a = σ(z) for the chosen σ.
    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        visit([&](const auto& policy) { policy.forward(z, a); });
    }

    /// δ = J_σ(z)ᵀ ∂C/∂a for the chosen σ.
    template <class Z, class A, class G, class D>
    void backward(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>& a,
                  const Eigen::MatrixBase<G>& da, Eigen::MatrixBase<D>& delta) const {
        visit([&](const auto& policy) { policy.backward(z, a, da, delta); });
    }

    /// Calls f with the policy object of this kind.
    template <class F>
    decltype(auto) visit(F&& f) const {
        switch (m_kind) {
            case ActivationKind::sigmoid: return f(Sigmoid{});
            case ActivationKind::tanh: return f(Tanh{});
            case ActivationKind::relu: return f(ReLU{});
            case ActivationKind::leaky_relu: return f(LeakyReLU{m_slope});
            case ActivationKind::softmax: return f(Softmax{});
            case ActivationKind::identity: break;
        }
        return f(Identity{});
    }

    /// Same kind and, for leaky ReLU, same slope.
    friend bool operator==(const AnyActivation& x, const AnyActivation& y) {
        return x.m_kind == y.m_kind &&
               (x.m_kind != ActivationKind::leaky_relu || x.m_slope == y.m_slope);
    }
    /// Not operator==.
    friend bool operator!=(const AnyActivation& x, const AnyActivation& y) { return !(x == y); }

private:
    ActivationKind m_kind = ActivationKind::identity;
    double m_slope = 0.01;
};

}  // namespace nabla
