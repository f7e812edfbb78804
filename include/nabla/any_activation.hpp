#pragma once

// Activations chosen at run time: AnyActivation holds any activation type behind one interface,
// and the registry maps names to types, so that a command line or a model file can name one.
// A call dispatches once per layer per batch, never per element.

#include <nabla/activation.hpp>
#include <nabla/attributes.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/detail/name_registry.hpp>
#include <nabla/error.hpp>

#include <Eigen/Core>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <vector>

namespace nabla {

namespace detail {

template <class A, class = void>
struct HasName : std::false_type {};
template <class A>
struct HasName<A, std::enable_if_t<std::is_convertible_v<decltype(A::name()), std::string_view>>>
    : std::true_type {};

template <class A, class = void>
struct WritesAttributes : std::false_type {};
template <class A>
struct WritesAttributes<A, std::void_t<decltype(std::declval<const A&>().write_attributes(
                               std::declval<Attributes&>()))>> : std::true_type {};

template <class A, class = void>
struct ReadsAttributes : std::false_type {};
template <class A>
struct ReadsAttributes<A, std::void_t<decltype(A::from_attributes(std::declval<const Attributes&>()))>>
    : std::true_type {};

/// What a policy type's attributes are: what it writes, or none.
template <class A>
Attributes attributes_of(const A& activation) {
    Attributes out;
    if constexpr (WritesAttributes<A>::value) activation.write_attributes(out);
    return out;
}

/// The policy of type A built from `attributes`: from_attributes() when A has parameters, the
/// default otherwise.
template <class A>
A activation_from(const Attributes& attributes) {
    if constexpr (ReadsAttributes<A>::value)
        return A::from_attributes(attributes);
    else
        return A{};
}

/// The interface AnyActivation calls, one virtual call per layer per batch.
class ActivationModel {
public:
    using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
    using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;

    virtual ~ActivationModel() = default;
    virtual std::string_view name() const = 0;
    virtual bool rectifier() const = 0;
    virtual bool elementwise() const = 0;
    virtual std::type_index type() const = 0;
    virtual const Attributes& attributes() const = 0;
    virtual void forward(const Eigen::Ref<const MatrixF>& z, Eigen::Ref<MatrixF> a) const = 0;
    virtual void forward(const Eigen::Ref<const MatrixD>& z, Eigen::Ref<MatrixD> a) const = 0;
    virtual void backward(const Eigen::Ref<const MatrixF>& z, const Eigen::Ref<const MatrixF>& a,
                          const Eigen::Ref<const MatrixF>& da,
                          Eigen::Ref<MatrixF> delta) const = 0;
    virtual void backward(const Eigen::Ref<const MatrixD>& z, const Eigen::Ref<const MatrixD>& a,
                          const Eigen::Ref<const MatrixD>& da,
                          Eigen::Ref<MatrixD> delta) const = 0;
};

/// ActivationModel for the policy type A.
template <class A>
class ActivationHolder final : public ActivationModel {
public:
    explicit ActivationHolder(A policy) : m_policy(policy), m_attributes(attributes_of(policy)) {}

    std::string_view name() const override { return A::name(); }
    bool rectifier() const override {
        if constexpr (DeclaresRectifier<A>::value)
            return bool(A::rectifier);
        else
            return false;
    }
    bool elementwise() const override { return is_elementwise_v<A>; }
    std::type_index type() const override { return typeid(A); }
    const Attributes& attributes() const override { return m_attributes; }
    void forward(const Eigen::Ref<const MatrixF>& z, Eigen::Ref<MatrixF> a) const override {
        m_policy.forward(z, a);
    }
    void forward(const Eigen::Ref<const MatrixD>& z, Eigen::Ref<MatrixD> a) const override {
        m_policy.forward(z, a);
    }
    void backward(const Eigen::Ref<const MatrixF>& z, const Eigen::Ref<const MatrixF>& a,
                  const Eigen::Ref<const MatrixF>& da, Eigen::Ref<MatrixF> delta) const override {
        m_policy.backward(z, a, da, delta);
    }
    void backward(const Eigen::Ref<const MatrixD>& z, const Eigen::Ref<const MatrixD>& a,
                  const Eigen::Ref<const MatrixD>& da, Eigen::Ref<MatrixD> delta) const override {
        m_policy.backward(z, a, da, delta);
    }

private:
    A m_policy;
    Attributes m_attributes;
};

}  // namespace detail

/// An activation by name and attributes, as a model file names it: enough to build it again
/// from the registry (ActivationRegistry::make()).
struct ActivationSpec {
    std::string name;       ///< Its name(), e.g. "relu"; empty for a layer without an activation.
    Attributes attributes;  ///< Its parameters, e.g. {"slope", 0.2} for leaky ReLU.

    /// Which built-in this is, ActivationKind::custom for any other.
    ActivationKind kind() const {
        for (ActivationKind kind : {ActivationKind::identity, ActivationKind::sigmoid,
                                    ActivationKind::tanh, ActivationKind::relu,
                                    ActivationKind::leaky_relu, ActivationKind::softmax}) {
            if (name == to_string(kind)) return kind;
        }
        return ActivationKind::custom;
    }
    /// Leaky ReLU's slope (0.01 when there is none).
    double slope() const { return attributes.get_or("slope", 0.01); }

    /// Same name and attributes.
    friend bool operator==(const ActivationSpec& x, const ActivationSpec& y) {
        return x.name == y.name && x.attributes == y.attributes;
    }
    /// Not operator==.
    friend bool operator!=(const ActivationSpec& x, const ActivationSpec& y) { return !(x == y); }
};

class AnyActivation;

namespace detail {

/// The activations a program can choose by name: the built-ins, and every type given to
/// register_activation(). Loading a model file looks its activations up here. Safe to use from
/// several threads. Used as ActivationRegistry: a template only so that the built-ins' kernels
/// are compiled in the files that use the registry, not in every file that includes this header
/// (they were two thirds of its compile time).
template <class Unused>
class BasicActivationRegistry {
public:
    /// Builds the activation of a registered type from its attributes.
    using Factory = AnyActivation (*)(const Attributes&);

    /// The one registry of the program.
    static BasicActivationRegistry& instance() {
        static BasicActivationRegistry registry;
        return registry;
    }

    /// Registers A under A::name(). Registering the same type again does nothing; another type
    /// under a name already taken throws ConfigError naming it. Returns true, so that a file can
    /// register a type as it defines it:
    ///
    ///     inline const bool swish_registered = nabla::register_activation<Swish>();
    template <class A>
    bool add();

    /// The activation registered as `name`, built from `attributes`. Throws ConfigError naming
    /// the name and the names known when there is none.
    AnyActivation make(std::string_view name, const Attributes& attributes = {}) const;

    /// True when `name` is registered.
    bool contains(std::string_view name) const { return m_names.find(name) != nullptr; }
    /// Every registered name, in alphabetical order.
    std::vector<std::string> names() const { return m_names.names(); }
    /// "elu, gelu, identity, ...": the names, for messages.
    std::string names_text() const { return m_names.names_text(); }

private:
    BasicActivationRegistry();

    NameRegistry<Factory> m_names;
};

}  // namespace detail

/// The program's activations by name (detail::BasicActivationRegistry).
using ActivationRegistry = detail::BasicActivationRegistry<void>;

/// Registers the activation type A under A::name() (see ActivationRegistry::add()).
template <class A>
bool register_activation() {
    return ActivationRegistry::instance().add<A>();
}

/// An activation chosen at run time (from a command line or a model file): any activation type,
/// built-in or the program's own, behind one interface. It dispatches to the type once per call,
/// that is once per layer per batch, never per element. Copies share the (immutable) policy.
///
///     nabla::AnyActivation relu = nabla::ReLU{};
///     nabla::AnyActivation chosen = nabla::AnyActivation::parse("gelu");
class AnyActivation {
public:
    /// The identity.
    AnyActivation() : AnyActivation(Identity{}) {}

    /// The run-time form of an activation type, e.g. `AnyActivation(ReLU{})`. The type needs a
    /// name(): what is chosen at run time is chosen by name.
    template <class Policy, std::enable_if_t<!std::is_same_v<std::decay_t<Policy>, AnyActivation> &&
                                                 detail::HasName<Policy>::value,
                                             int> = 0>
    AnyActivation(const Policy& policy)
        : m_model(std::make_shared<detail::ActivationHolder<Policy>>(policy)) {}

    /// A built-in activation by kind; `slope` is used by leaky ReLU only. (A template, like the
    /// registry, so that the built-ins are compiled only where this is called.)
    template <class Kind, std::enable_if_t<std::is_same_v<Kind, ActivationKind>, int> = 0>
    AnyActivation(Kind kind, double slope = 0.01) : AnyActivation(from_kind(kind, slope)) {}

    /// The registered activation called `name` (a built-in or one given to
    /// register_activation()), with `slope` for leaky ReLU; throws ConfigError naming the text
    /// and the names known otherwise. `Registry` is not for callers: as a template, parse()
    /// compiles the registry's built-ins only where it is called.
    template <class Registry = ActivationRegistry>
    static AnyActivation parse(std::string_view name, double slope = 0.01) {
        Attributes attributes;
        if (name == "leaky_relu") attributes.set("slope", slope);
        return Registry::instance().make(name, attributes);
    }

    /// The name, as parse() reads it and model files store it.
    std::string_view name() const { return m_model->name(); }
    /// The attributes a model file keeps (leaky ReLU's slope, ELU's α); empty for most.
    const Attributes& attributes() const { return m_model->attributes(); }
    /// True for an activation that declares itself a rectifier (He initialisation).
    bool rectifier() const { return m_model->rectifier(); }
    /// True when σ acts on each entry alone (is_elementwise_v of the held type).
    bool elementwise() const { return m_model->elementwise(); }
    /// Its name and attributes, as a model file keeps them.
    ActivationSpec spec() const { return {std::string(name()), attributes()}; }
    /// Which built-in this is, or ActivationKind::custom.
    ActivationKind kind() const {
        for (ActivationKind kind : {ActivationKind::identity, ActivationKind::sigmoid,
                                    ActivationKind::tanh, ActivationKind::relu,
                                    ActivationKind::leaky_relu, ActivationKind::softmax}) {
            if (name() == to_string(kind)) return kind;
        }
        return ActivationKind::custom;
    }
    /// The slope of leaky ReLU for z ≤ 0 (0.01 for an activation without one).
    double slope() const { return attributes().get_or("slope", 0.01); }

    /// a = σ(z) for the chosen σ.
    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        using Matrix = Eigen::Matrix<typename Z::Scalar, Eigen::Dynamic, Eigen::Dynamic>;
        static_assert(std::is_same_v<typename Z::Scalar, float> ||
                          std::is_same_v<typename Z::Scalar, double>,
                      "NABLA_RUN_TIME_ACTIVATIONS_TAKE_FLOAT_OR_DOUBLE");
        if (a.rows() != z.rows() || a.cols() != z.cols()) a.derived().resize(z.rows(), z.cols());
        m_model->forward(Eigen::Ref<const Matrix>(z.derived()), Eigen::Ref<Matrix>(a.derived()));
    }

    /// δ = J_σ(z)ᵀ ∂C/∂a for the chosen σ.
    template <class Z, class A, class G, class D>
    void backward(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>& a,
                  const Eigen::MatrixBase<G>& da, Eigen::MatrixBase<D>& delta) const {
        using Matrix = Eigen::Matrix<typename Z::Scalar, Eigen::Dynamic, Eigen::Dynamic>;
        if (delta.rows() != z.rows() || delta.cols() != z.cols())
            delta.derived().resize(z.rows(), z.cols());
        m_model->backward(Eigen::Ref<const Matrix>(z.derived()),
                          Eigen::Ref<const Matrix>(a.derived()),
                          Eigen::Ref<const Matrix>(da.derived()),
                          Eigen::Ref<Matrix>(delta.derived()));
    }

    /// Same type and same attributes.
    friend bool operator==(const AnyActivation& x, const AnyActivation& y) {
        return x.m_model->type() == y.m_model->type() && x.attributes() == y.attributes();
    }
    /// Not operator==.
    friend bool operator!=(const AnyActivation& x, const AnyActivation& y) { return !(x == y); }

private:
    template <class Kind>
    static AnyActivation from_kind(Kind kind, double slope) {
        switch (kind) {
            case ActivationKind::sigmoid: return Sigmoid{};
            case ActivationKind::tanh: return Tanh{};
            case ActivationKind::relu: return ReLU{};
            case ActivationKind::leaky_relu: return LeakyReLU{slope};
            case ActivationKind::softmax: return Softmax{};
            case ActivationKind::custom:
                throw ConfigError("AnyActivation: ActivationKind::custom names no activation; "
                                  "construct it from its type, or parse() its name");
            case ActivationKind::identity: break;
        }
        return Identity{};
    }

    std::shared_ptr<const detail::ActivationModel> m_model;
};

namespace detail {

template <class Unused>
template <class A>
bool BasicActivationRegistry<Unused>::add() {
    static_assert(detail::HasName<A>::value,
                  "NABLA_AN_ACTIVATION_NEEDS_A_NAME: give it static constexpr const char* name()");
    const Factory factory = [](const Attributes& attributes) {
        return AnyActivation(detail::activation_from<A>(attributes));
    };
    m_names.add(A::name(), typeid(A), factory, "register_activation");
    return true;
}

template <class Unused>
AnyActivation BasicActivationRegistry<Unused>::make(std::string_view name,
                                                    const Attributes& attributes) const {
    const Factory factory = m_names.find(name);
    if (!factory) {
        throw ConfigError(detail::cat("unknown activation \"", name, "\"; known: ", names_text(),
                                      " (register others with nabla::register_activation)"));
    }
    return factory(attributes);
}

template <class Unused>
BasicActivationRegistry<Unused>::BasicActivationRegistry() {
    add<Identity>();
    add<Sigmoid>();
    add<Tanh>();
    add<ReLU>();
    add<LeakyReLU>();
    add<Softmax>();
    add<ELU>();
    add<Softplus>();
    add<GELU>();
}

}  // namespace detail

}  // namespace nabla
