#pragma once

#include <nabla/any_activation.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/detail/network_base.hpp>
#include <nabla/error.hpp>
#include <nabla/init.hpp>
#include <nabla/layer.hpp>
#include <nabla/layers/dense.hpp>
#include <nabla/loss.hpp>
#include <nabla/random.hpp>
#include <nabla/workspace.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace nabla {

namespace detail {

/// True when the loss fits the output layer's activation, or when only run time can tell
/// (AnyActivation).
template <class Loss, class Last>
constexpr bool loss_fits_at_compile_time() {
    if constexpr (LossTraits<Loss>::output_activation().empty())
        return true;
    else if constexpr (!has_activation_v<Last>)
        return false;
    else if constexpr (std::is_same_v<typename Last::Activation, AnyActivation>)
        return true;
    else if constexpr (HasName<typename Last::Activation>::value)
        return LossTraits<Loss>::accepts(Last::Activation::name());
    else
        return false;
}


/// True when every layer's sizes are fixed at compile time.
template <class... Layers>
constexpr bool all_sizes_fixed() {
    return ((Layers::InputsAtCompileTime != Eigen::Dynamic &&
             Layers::OutputsAtCompileTime != Eigen::Dynamic) &&
            ...);
}

/// True unless two neighbouring layers have fixed sizes that differ.
template <class Tuple, std::size_t... I>
constexpr bool layers_chain(std::index_sequence<I...>) {
    return ((std::tuple_element_t<I, Tuple>::OutputsAtCompileTime == Eigen::Dynamic ||
             std::tuple_element_t<I + 1, Tuple>::InputsAtCompileTime == Eigen::Dynamic ||
             std::tuple_element_t<I, Tuple>::OutputsAtCompileTime ==
                 std::tuple_element_t<I + 1, Tuple>::InputsAtCompileTime) &&
            ...);
}

}  // namespace detail

/// A multilayer perceptron whose layer types are known at compile time: a stack of layers (Dense,
/// Dropout, or any type that models the layer concept of layer.hpp) trained against `Loss`.
/// Sizes may still be Eigen::Dynamic; activations are policy types, so every call inlines. With all sizes fixed the network lives on the stack, and with a fixed
/// batch so does its workspace: `[2,3,2]` trains with no heap allocation at all.
///
///     using Net = nabla::Network<nabla::HalfSquaredError,
///                                nabla::Dense<double, 2, 3, nabla::Sigmoid>,
///                                nabla::Dense<double, 3, 2, nabla::Sigmoid>>;
///     Net net;                          // Glorot-initialised from seed 0
///     Net::Workspace<1> ws;             // one sample per step, on the stack
///     net.train_step(x, y, ws, 0.5);    // equations (1)–(6), then W ← W − η∇W
///
/// Layers are numbered from 1 in messages, as in the notes (W¹ joins the input to the first
/// hidden layer); in code layer<0>() is layer 1.
template <class Loss_, class... Layers>
class Network
    : public detail::NetworkBase<Network<Loss_, Layers...>,
                                 typename std::tuple_element_t<0, std::tuple<Layers...>>::Scalar> {
    static_assert(sizeof...(Layers) >= 1, "NABLA_A_NETWORK_NEEDS_AT_LEAST_ONE_LAYER");

    using LayerTuple = std::tuple<Layers...>;
    template <std::size_t I>
    using LayerAt = std::tuple_element_t<I, LayerTuple>;
    static constexpr std::size_t count = sizeof...(Layers);
    using First = LayerAt<0>;
    using Last = LayerAt<count - 1>;

public:
    using LayerTypes = std::tuple<Layers...>;    ///< The layer types, from the first.
    using Loss = Loss_;                          ///< The cost C the network is trained against.
    using Scalar = typename First::Scalar;       ///< float or double.
    static constexpr int InputsAtCompileTime = First::InputsAtCompileTime;    ///< or Dynamic.
    static constexpr int OutputsAtCompileTime = Last::OutputsAtCompileTime;  ///< or Dynamic.
    /// inputs × batch.
    using InputBatch = Eigen::Matrix<Scalar, InputsAtCompileTime, Eigen::Dynamic>;
    /// outputs × batch, what predict() returns.
    using OutputBatch = Eigen::Matrix<Scalar, OutputsAtCompileTime, Eigen::Dynamic>;
    /// Buffers for batches of `Batch` columns (Eigen::Dynamic: any batch size).
    template <int Batch = Eigen::Dynamic>
    using Workspace = nabla::Workspace<Batch, Layers...>;

    static_assert((std::is_same_v<typename Layers::Scalar, Scalar> && ...),
                  "NABLA_LAYERS_MUST_SHARE_ONE_SCALAR_TYPE");
    static_assert(detail::layers_chain<LayerTuple>(std::make_index_sequence<count - 1>{}),
                  "NABLA_LAYER_SIZES_DO_NOT_CHAIN: a layer's Inputs must equal the Outputs of the "
                  "layer before it");
    static_assert(detail::loss_fits_at_compile_time<Loss, Last>(),
                  "NABLA_LOSS_DOES_NOT_FIT_THE_OUTPUT_ACTIVATION: CrossEntropy needs Softmax, "
                  "BinaryCrossEntropy needs Sigmoid");

    /// A network whose sizes are all fixed at compile time, initialised from `seed` (Glorot, or
    /// He for rectifier layers; biases 0).
    template <bool Fixed = detail::all_sizes_fixed<Layers...>(), std::enable_if_t<Fixed, int> = 0>
    explicit Network(std::uint64_t seed = 0) {
        finish_construction();
        initialize(seed);
    }

    /// A network of the given sizes, `{inputs, hidden..., outputs}`, initialised from `seed`: for
    /// layers built from (inputs, outputs), such as Dense; a network with Dropout is built from
    /// a tuple of its layers.
    /// Sizes fixed at compile time must be repeated, equal; throws ShapeError otherwise.
    explicit Network(const std::vector<Eigen::Index>& sizes, std::uint64_t seed = 0)
        : m_layers(make_layers(sizes, std::make_index_sequence<count>{})) {
        finish_construction();
        initialize(seed);
    }

    /// A network of the given layers, weights as they are (e.g. to give LeakyReLU a slope).
    /// Throws ShapeError unless each layer's inputs equal the outputs of the layer before.
    explicit Network(std::tuple<Layers...> layers) : m_layers(std::move(layers)) {
        finish_construction();
    }

    /// The number of layers L (weight matrices; the input is not a layer).
    static constexpr std::size_t layer_count() { return count; }
    /// The number of inputs, the size of x.
    Eigen::Index inputs() const { return std::get<0>(m_layers).inputs(); }
    /// The number of outputs, the size of aᴸ.
    Eigen::Index outputs() const { return std::get<count - 1>(m_layers).outputs(); }
    /// {inputs, hidden..., outputs}.
    std::vector<Eigen::Index> sizes() const {
        std::vector<Eigen::Index> result{inputs()};
        for_each_layer([&](const auto& layer, auto) { result.push_back(layer.outputs()); });
        return result;
    }

    /// Layer I (zero-based: layer<0>() holds W¹ and b¹ of the notes).
    template <std::size_t I>
    LayerAt<I>& layer() { return std::get<I>(m_layers); }
    /// Layer I, read-only.
    template <std::size_t I>
    const LayerAt<I>& layer() const { return std::get<I>(m_layers); }
    /// Layer I, addressed by an index constant as for_each_layer passes it.
    template <std::size_t I>
    LayerAt<I>& layer(std::integral_constant<std::size_t, I>) { return std::get<I>(m_layers); }
    /// Layer I, read-only.
    template <std::size_t I>
    const LayerAt<I>& layer(std::integral_constant<std::size_t, I>) const {
        return std::get<I>(m_layers);
    }

    /// Layer I, as the passes shared with DynamicNetwork address it.
    template <std::size_t I>
    LayerAt<I>& any_layer(std::integral_constant<std::size_t, I> index) { return layer(index); }
    /// Layer I, read-only.
    template <std::size_t I>
    const LayerAt<I>& any_layer(std::integral_constant<std::size_t, I> index) const {
        return layer(index);
    }

    /// The index of the first layer, as a constant.
    static constexpr std::integral_constant<std::size_t, 0> first_index() { return {}; }
    /// The index of the output layer, as a constant.
    static constexpr std::integral_constant<std::size_t, count - 1> last_index() { return {}; }

    /// Calls f(layer, index) for each layer, input side first; index is a
    /// std::integral_constant, so f may be a generic lambda that indexes a workspace with it.
    template <class F>
    void for_each_layer(F&& f) const {
        visit(f, std::make_index_sequence<count>{});
    }
    /// Calls f(layer, index) for each layer, input side first, with the layers writable.
    template <class F>
    void for_each_layer(F&& f) {
        visit(f, std::make_index_sequence<count>{});
    }
    /// Calls f(layer, index) for each layer, output side first: the order of backpropagation.
    template <class F>
    void for_each_layer_reverse(F&& f) const {
        visit_reverse(f, std::make_index_sequence<count>{});
    }

    /// Draws every W again from `seed` with DefaultInit: He uniform for rectifier layers (ReLU,
    /// leaky ReLU, ELU, GELU, softplus, and any σ that declares itself one), Glorot uniform for
    /// the others; biases 0.
    void initialize(std::uint64_t seed) { initialize(seed, DefaultInit{}); }

    /// Draws every W (and b) again from `seed` with `init`, e.g. `net.initialize(7, HeNormal{})`,
    /// a PerLayer, or a callable `double(const WeightEntry&, Rng&)` (see init.hpp). One Rng
    /// serves the layers in order, so one seed gives one network bit for bit. Throws ConfigError,
    /// with no weight changed, for a PerLayer whose count is not layer_count().
    template <class Initializer>
    void initialize(std::uint64_t seed, const Initializer& init) {
        detail::check_initializer_fits(init, count);
        Rng rng(seed);
        for_each_layer([&](auto& layer, auto i) {
            detail::initialize_layer(layer, init, static_cast<std::size_t>(i), rng);
        });
    }

private:
    template <std::size_t... I>
    static LayerTuple make_layers(const std::vector<Eigen::Index>& sizes,
                                  std::index_sequence<I...>) {
        if (sizes.size() != count + 1) {
            const auto given = static_cast<Eigen::Index>(sizes.size());
            throw ShapeError(detail::cat("Network: ", detail::plural(given, "size"),
                                         " given, a network of ", detail::plural(count, "layer"),
                                         " needs ", count + 1,
                                         " (inputs, then each layer's outputs)"));
        }
        // Checked in order first, so the message names the first layer that does not fit.
        (detail::check_layer_sizes<LayerAt<I>>("Network", I + 1, sizes[I], sizes[I + 1]), ...);
        return LayerTuple(LayerAt<I>(sizes[I], sizes[I + 1])...);
    }

    void finish_construction() {
        for_each_layer([&](auto& layer, auto i) {
            if constexpr (detail::HasSetNumber<std::decay_t<decltype(layer)>>::value)
                layer.set_number(int(i) + 1);
            if constexpr (decltype(i)::value > 0) {
                detail::check_layers_chain(layer, std::get<decltype(i)::value - 1>(m_layers),
                                           i + 1);
            }
        });
        detail::check_loss_fits<Loss>(std::get<count - 1>(m_layers), count);
    }

    template <class Self, class F, std::size_t... I>
    static void visit_impl(Self& self, F& f, std::index_sequence<I...>) {
        (f(std::get<I>(self.m_layers), std::integral_constant<std::size_t, I>{}), ...);
    }
    template <class F, std::size_t... I>
    void visit(F& f, std::index_sequence<I...> seq) const { visit_impl(*this, f, seq); }
    template <class F, std::size_t... I>
    void visit(F& f, std::index_sequence<I...> seq) { visit_impl(*this, f, seq); }
    template <class F, std::size_t... I>
    void visit_reverse(F& f, std::index_sequence<I...>) const {
        (f(std::get<count - 1 - I>(m_layers), std::integral_constant<std::size_t, count - 1 - I>{}),
         ...);
    }

    LayerTuple m_layers;
};

}  // namespace nabla
