#pragma once

// Weight initialisation. An initializer is a policy type passed to a network's initialize():
//
//     net.initialize(42, nabla::HeNormal{});                       // every layer
//     net.initialize(42, nabla::PerLayer{nabla::HeNormal{}, nabla::GlorotUniform{}});
//     net.initialize(42, [](const nabla::WeightEntry& w, nabla::Rng& rng) {
//         return rng.normal(0.0, 1.0 / std::sqrt(double(w.fan_in)));   // LeCun normal
//     });
//
// The network makes one Rng from the seed and hands it to the initializer layer by layer, input
// side first; within a layer W (outputs × inputs) is drawn column by column, one draw per entry,
// in double, then cast to the network's scalar. So one seed gives one network bit for bit, and a
// float network is the double network of the same seed rounded to float. fan_in is the number of
// inputs (columns of W), fan_out the number of outputs (rows). Biases start at 0, except with
// Constant, which sets them to its second value (0 unless given).
//
// Writing an initializer: a type with a const member
//     template <class W, class B>
//     void fill(Eigen::MatrixBase<W>& weights, Eigen::MatrixBase<B>& bias,
//               const nabla::InitContext& context, nabla::Rng& rng) const;
// or, simpler, a callable `double(const WeightEntry&, Rng&)` as above.

#include <nabla/activation.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/detail/option_checks.hpp>
#include <nabla/error.hpp>
#include <nabla/random.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace nabla {

/// Fills a matrix with U(−limit, limit) values drawn column by column from `rng`.
template <class Derived>
void uniform_fill(Eigen::MatrixBase<Derived>& weights, double limit, Rng& rng) {
    for (Eigen::Index k = 0; k < weights.cols(); ++k)
        for (Eigen::Index j = 0; j < weights.rows(); ++j)
            weights(j, k) = typename Derived::Scalar(rng.uniform(-limit, limit));
}

/// Fills a matrix with N(0, stddev²) values drawn column by column from `rng`.
template <class Derived>
void normal_fill(Eigen::MatrixBase<Derived>& weights, double stddev, Rng& rng) {
    for (Eigen::Index k = 0; k < weights.cols(); ++k)
        for (Eigen::Index j = 0; j < weights.rows(); ++j)
            weights(j, k) = typename Derived::Scalar(stddev * rng.normal());
}

/// Fills W (outputs × inputs) with Glorot/Xavier uniform values, U(−r, r) with
/// r = √(6 / (inputs + outputs)): keeps the variance of sigmoid and tanh layers steady.
template <class Derived>
void glorot_uniform(Eigen::MatrixBase<Derived>& weights, Rng& rng) {
    uniform_fill(weights, std::sqrt(6.0 / double(weights.rows() + weights.cols())), rng);
}

/// Fills W (outputs × inputs) with He uniform values, U(−r, r) with r = √(6 / inputs): keeps the
/// variance of ReLU layers steady.
template <class Derived>
void he_uniform(Eigen::MatrixBase<Derived>& weights, Rng& rng) {
    uniform_fill(weights, std::sqrt(6.0 / double(weights.cols())), rng);
}

/// The initialisation that fits an activation: He for rectifiers (ReLU, leaky ReLU, and any
/// activation that declares itself one), Glorot otherwise.
template <class Derived>
void default_initialize(Eigen::MatrixBase<Derived>& weights, bool rectifier, Rng& rng) {
    if (rectifier)
        he_uniform(weights, rng);
    else
        glorot_uniform(weights, rng);
}

/// What an initializer is told about the layer it fills.
struct InitContext {
    std::size_t layer = 0;                 ///< Zero-based, as net.layer(i) counts.
    std::string_view activation = "identity";  ///< The name of σ of the layer.
    bool rectifier = false;  ///< σ is a rectifier (ReLU-like): DefaultInit draws He, not Glorot.
};

namespace detail {

template <class A, class = void>
struct TellsRectifier : std::false_type {};
template <class A>
struct TellsRectifier<A, std::void_t<decltype(std::declval<const A&>().rectifier())>>
    : std::true_type {};

/// True when σ declares itself a rectifier: a static `rectifier` for a policy type, a run-time
/// rectifier() for AnyActivation.
template <class A>
bool is_rectifier([[maybe_unused]] const A& activation) {
    if constexpr (DeclaresRectifier<A>::value)
        return bool(A::rectifier);
    else if constexpr (TellsRectifier<A>::value)
        return activation.rectifier();
    else
        return false;
}

}  // namespace detail

/// The entry of W a FromFunction callable is asked for: W(row, col) of `layer`.
struct WeightEntry {
    Eigen::Index row = 0;      ///< j: the neuron of this layer (0 ≤ row < fan_out).
    Eigen::Index col = 0;      ///< k: the neuron of the layer below (0 ≤ col < fan_in).
    Eigen::Index fan_in = 0;   ///< Inputs of the layer, the columns of W.
    Eigen::Index fan_out = 0;  ///< Outputs of the layer, the rows of W.
    std::size_t layer = 0;     ///< Zero-based, as net.layer(i) counts.
};

/// The default of initialize(seed): He uniform for rectifier layers (ReLU, leaky ReLU, ELU, GELU,
/// softplus, and any σ that declares itself one), Glorot uniform for sigmoid, tanh, identity,
/// softmax and the others; b = 0.
struct DefaultInit {
    /// Draws W as default_initialize() does for the layer's activation; b = 0.
    template <class W, class B>
    void fill(Eigen::MatrixBase<W>& weights, Eigen::MatrixBase<B>& bias,
              const InitContext& context, Rng& rng) const {
        default_initialize(weights, context.rectifier, rng);
        bias.setZero();
    }
};

/// Glorot/Xavier uniform: W ~ U(−r, r), r = gain·√(6 / (fan_in + fan_out)), so
/// Var(w) = gain²·2 / (fan_in + fan_out); b = 0. As torch.nn.init.xavier_uniform_.
class GlorotUniform {
public:
    /// Throws ConfigError unless `gain` is positive and finite.
    explicit GlorotUniform(double gain = 1.0) : m_gain(gain) {
        detail::check_positive_option("GlorotUniform", "gain", gain);
    }
    /// The factor on the limit.
    double gain() const { return m_gain; }

    /// Draws W column by column; b = 0.
    template <class W, class B>
    void fill(Eigen::MatrixBase<W>& weights, Eigen::MatrixBase<B>& bias, const InitContext&,
              Rng& rng) const {
        uniform_fill(weights, m_gain * std::sqrt(6.0 / double(weights.rows() + weights.cols())),
                     rng);
        bias.setZero();
    }

private:
    double m_gain;
};

/// Glorot/Xavier normal: W ~ N(0, σ²), σ = gain·√(2 / (fan_in + fan_out)), not truncated; b = 0.
/// As torch.nn.init.xavier_normal_.
class GlorotNormal {
public:
    /// Throws ConfigError unless `gain` is positive and finite.
    explicit GlorotNormal(double gain = 1.0) : m_gain(gain) {
        detail::check_positive_option("GlorotNormal", "gain", gain);
    }
    /// The factor on σ.
    double gain() const { return m_gain; }

    /// Draws W column by column; b = 0.
    template <class W, class B>
    void fill(Eigen::MatrixBase<W>& weights, Eigen::MatrixBase<B>& bias, const InitContext&,
              Rng& rng) const {
        normal_fill(weights, m_gain * std::sqrt(2.0 / double(weights.rows() + weights.cols())),
                    rng);
        bias.setZero();
    }

private:
    double m_gain;
};

/// Xavier is Glorot: the same initializer under its other name.
using XavierUniform = GlorotUniform;
/// Xavier is Glorot: the same initializer under its other name.
using XavierNormal = GlorotNormal;

/// He/Kaiming uniform for ReLU-like layers: W ~ U(−r, r), r = √(6 / ((1 + a²)·fan_in)), where a
/// is the negative slope of a leaky ReLU (0 for ReLU), so Var(w) = 2 / ((1 + a²)·fan_in); b = 0.
/// As torch.nn.init.kaiming_uniform_(a=a) in fan_in mode.
class HeUniform {
public:
    /// Throws ConfigError unless `negative_slope` is finite.
    explicit HeUniform(double negative_slope = 0.0) : m_slope(negative_slope) {
        detail::check_finite_option("HeUniform", "negative_slope", negative_slope);
    }
    /// a, the slope of the activation for z ≤ 0.
    double negative_slope() const { return m_slope; }

    /// Draws W column by column; b = 0.
    template <class W, class B>
    void fill(Eigen::MatrixBase<W>& weights, Eigen::MatrixBase<B>& bias, const InitContext&,
              Rng& rng) const {
        uniform_fill(weights,
                     std::sqrt(6.0 / ((1.0 + m_slope * m_slope) * double(weights.cols()))), rng);
        bias.setZero();
    }

private:
    double m_slope;
};

/// He/Kaiming normal for ReLU-like layers: W ~ N(0, σ²), σ = √(2 / ((1 + a²)·fan_in)), a the
/// negative slope (0 for ReLU), not truncated; b = 0. As torch.nn.init.kaiming_normal_(a=a).
class HeNormal {
public:
    /// Throws ConfigError unless `negative_slope` is finite.
    explicit HeNormal(double negative_slope = 0.0) : m_slope(negative_slope) {
        detail::check_finite_option("HeNormal", "negative_slope", negative_slope);
    }
    /// a, the slope of the activation for z ≤ 0.
    double negative_slope() const { return m_slope; }

    /// Draws W column by column; b = 0.
    template <class W, class B>
    void fill(Eigen::MatrixBase<W>& weights, Eigen::MatrixBase<B>& bias, const InitContext&,
              Rng& rng) const {
        normal_fill(weights,
                    std::sqrt(2.0 / ((1.0 + m_slope * m_slope) * double(weights.cols()))), rng);
        bias.setZero();
    }

private:
    double m_slope;
};

/// Every weight `weight`, every bias `bias` (0 unless given): `Constant{0.5}`,
/// `Constant{0.5, 0.1}`. Draws nothing. Beware: equal weights give the neurons of a layer equal
/// gradients, so they stay equal under training; it is for tests and experiments.
class Constant {
public:
    /// Throws ConfigError unless both values are finite.
    explicit Constant(double weight, double bias = 0.0) : m_weight(weight), m_bias(bias) {
        detail::check_finite_option("Constant", "weight", weight);
        detail::check_finite_option("Constant", "bias", bias);
    }
    /// The value of every weight.
    double weight() const { return m_weight; }
    /// The value of every bias.
    double bias() const { return m_bias; }

    /// W = weight everywhere, b = bias everywhere.
    template <class W, class B>
    void fill(Eigen::MatrixBase<W>& weights, Eigen::MatrixBase<B>& bias, const InitContext&,
              Rng&) const {
        weights.setConstant(typename W::Scalar(m_weight));
        bias.setConstant(typename B::Scalar(m_bias));
    }

private:
    double m_weight;
    double m_bias;
};

/// W(j, k) = f(WeightEntry{j, k, fan_in, fan_out, layer}, rng), called column by column with the
/// network's generator, so draws made by f are seeded too; b = 0. A bare callable of that
/// signature is accepted wherever an initializer is, and means FromFunction{f}.
///
///     net.initialize(7, nabla::FromFunction{[](const nabla::WeightEntry& w, nabla::Rng& rng) {
///         return w.row == w.col ? 1.0 : 0.01 * rng.normal();   // near the identity
///     }});
template <class F>
class FromFunction {
public:
    /// Wraps f, callable as f(const WeightEntry&, Rng&) and returning a number.
    explicit FromFunction(F f) : m_f(std::move(f)) {}

    /// W(j, k) = f(entry, rng) column by column; b = 0.
    template <class W, class B>
    void fill(Eigen::MatrixBase<W>& weights, Eigen::MatrixBase<B>& bias,
              const InitContext& context, Rng& rng) const {
        WeightEntry entry;
        entry.fan_in = weights.cols();
        entry.fan_out = weights.rows();
        entry.layer = context.layer;
        for (entry.col = 0; entry.col < weights.cols(); ++entry.col)
            for (entry.row = 0; entry.row < weights.rows(); ++entry.row)
                weights(entry.row, entry.col) = typename W::Scalar(m_f(std::as_const(entry), rng));
        bias.setZero();
    }

private:
    F m_f;
};

namespace detail {

/// True for a callable that FromFunction can wrap.
template <class F>
constexpr bool is_weight_function = std::is_invocable_v<const F&, const WeightEntry&, Rng&>;

/// Fills one layer's W and b with `init`: a policy type with fill(), or a bare weight function.
template <class Init, class W, class B>
void apply_initializer(const Init& init, Eigen::MatrixBase<W>& weights,
                       Eigen::MatrixBase<B>& bias, const InitContext& context, Rng& rng) {
    if constexpr (is_weight_function<Init>) {
        FromFunction<const Init&>(init).fill(weights, bias, context, rng);
    } else {
        init.fill(weights, bias, context, rng);
    }
}

template <class Init>
struct IsPerLayer : std::false_type {};

}  // namespace detail

/// One initializer per layer, input side first: `PerLayer{HeNormal{}, Constant{0}}` for a
/// two-layer network. Each entry is any initializer, bare weight functions included. A network
/// throws ConfigError, before changing any weight, when the count differs from its layer count.
template <class... Inits>
class PerLayer {
public:
    /// The initializers of layers 1, 2, ... in order.
    explicit PerLayer(Inits... inits) : m_inits(std::move(inits)...) {}

    /// The number of layers this covers.
    static constexpr std::size_t size() { return sizeof...(Inits); }

    /// Fills the layer with the initializer of context.layer; throws ConfigError when there is
    /// none.
    template <class W, class B>
    void fill(Eigen::MatrixBase<W>& weights, Eigen::MatrixBase<B>& bias,
              const InitContext& context, Rng& rng) const {
        if (context.layer >= size()) {
            throw ConfigError(detail::cat("PerLayer: no initializer for layer ", context.layer + 1,
                                          ", ", size(), " given"));
        }
        fill_at(weights, bias, context, rng, std::index_sequence_for<Inits...>{});
    }

private:
    template <class W, class B, std::size_t... I>
    void fill_at(Eigen::MatrixBase<W>& weights, Eigen::MatrixBase<B>& bias,
                 const InitContext& context, Rng& rng, std::index_sequence<I...>) const {
        // The run-time layer index picks the tuple element; exactly one term runs.
        static_cast<void>(
            ((context.layer == I
                  ? (detail::apply_initializer(std::get<I>(m_inits), weights, bias, context, rng),
                     true)
                  : false) ||
             ...));
    }

    std::tuple<Inits...> m_inits;
};

namespace detail {

template <class... Inits>
struct IsPerLayer<PerLayer<Inits...>> : std::true_type {};

/// Throws ConfigError, naming both counts, when `init` is a PerLayer whose count differs from
/// `layers`; any other initializer fits every network.
template <class Init>
void check_initializer_fits(const Init&, std::size_t layers) {
    if constexpr (IsPerLayer<Init>::value) {
        if (Init::size() != layers) {
            throw ConfigError(cat("PerLayer: ", plural(Eigen::Index(Init::size()), "initializer"),
                                  " given for a network of ",
                                  plural(Eigen::Index(layers), "layer")));
        }
    }
}

}  // namespace detail

}  // namespace nabla
