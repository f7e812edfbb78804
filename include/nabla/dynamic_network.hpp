#pragma once

#include <nabla/any_activation.hpp>
#include <nabla/any_layer.hpp>
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
#include <iterator>
#include <utility>
#include <vector>

namespace nabla {

/// A multilayer perceptron whose depth, layer types, sizes and activations are chosen at run
/// time (from a command line or a model file), trained against `Loss`. It holds AnyLayer, so any
/// layer type stacks: Dense (with an AnyActivation or a policy σ), Dropout, a program's own.
/// Each layer dispatches once per batch; the matrix work is the same as Network's. Given the
/// same parameters the two agree to an ulp, not always bit for bit: with vector units Eigen may
/// evaluate exp() of the few entries past the last full packet differently for fixed and
/// run-time sizes.
///
///     nabla::DynamicNetwork<float, nabla::CrossEntropy> net(
///         {784, 256, 10}, {nabla::ReLU{}, nabla::Softmax{}}, /*seed=*/42);
///     using Dense = nabla::DynamicNetwork<float, nabla::CrossEntropy>::Layer;
///     nabla::DynamicNetwork<float, nabla::CrossEntropy> regularised(
///         std::vector<nabla::AnyLayer<float>>{Dense(784, 256, nabla::ReLU{}),
///                                             nabla::Dropout<float>(256, 0.2),
///                                             Dense(256, 10, nabla::Softmax{})});
///     regularised.initialize(/*seed=*/42);
///
/// Layers are numbered from 1 in messages, as in the notes; in code layer(0) is layer 1.
template <class Scalar_, class Loss_>
class DynamicNetwork : public detail::NetworkBase<DynamicNetwork<Scalar_, Loss_>, Scalar_> {
public:
    using Scalar = Scalar_;  ///< float or double.
    using Loss = Loss_;      ///< The cost C the network is trained against.
    /// The usual layer: a Dense layer with sizes and σ chosen at run time.
    using Layer = Dense<Scalar, Eigen::Dynamic, Eigen::Dynamic, AnyActivation>;
    static constexpr int InputsAtCompileTime = Eigen::Dynamic;   ///< Known at run time only.
    static constexpr int OutputsAtCompileTime = Eigen::Dynamic;  ///< Known at run time only.
    /// inputs × batch.
    using InputBatch = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    /// outputs × batch, what predict() returns.
    using OutputBatch = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    /// Buffers for batches of `Batch` columns (Eigen::Dynamic: any batch size).
    template <int Batch = Eigen::Dynamic>
    using Workspace = DynamicWorkspace<Scalar, Batch>;

    /// A network of Dense layers of `sizes` = {inputs, hidden..., outputs} with one activation
    /// per layer (sizes.size() − 1 of them), initialised from `seed`. Throws ShapeError for a
    /// size count that does not fit or a size below 1, ConfigError when the loss does not fit
    /// the output activation.
    DynamicNetwork(const std::vector<Eigen::Index>& sizes,
                   const std::vector<AnyActivation>& activations, std::uint64_t seed = 0) {
        if (sizes.size() < 2 || activations.size() + 1 != sizes.size()) {
            const auto given_sizes = static_cast<Eigen::Index>(sizes.size());
            const auto given_activations = static_cast<Eigen::Index>(activations.size());
            throw ShapeError(detail::cat("DynamicNetwork: ", detail::plural(given_sizes, "size"),
                                         " and ", detail::plural(given_activations, "activation"),
                                         " given; L layers need L + 1 sizes "
                                         "(inputs, then each layer's outputs) and L activations"));
        }
        m_layers.reserve(activations.size());
        for (std::size_t l = 0; l < activations.size(); ++l) {
            detail::check_layer_sizes<Layer>("DynamicNetwork", l + 1, sizes[l], sizes[l + 1]);
            m_layers.emplace_back(Layer(sizes[l], sizes[l + 1], activations[l]));
        }
        finish_construction();
        initialize(seed);
    }

    /// A network of the given Dense layers, weights as they are. Throws ShapeError unless each
    /// layer's inputs equal the outputs of the layer before, ConfigError when the loss does not
    /// fit.
    explicit DynamicNetwork(std::vector<Layer> layers)
        : m_layers(std::make_move_iterator(layers.begin()), std::make_move_iterator(layers.end())) {
        if (m_layers.empty()) throw ShapeError("DynamicNetwork: no layers given");
        finish_construction();
    }

    /// A network of the given layers of any types, weights as they are. Throws as the
    /// constructor from Dense layers does.
    explicit DynamicNetwork(std::vector<AnyLayer<Scalar>> layers) : m_layers(std::move(layers)) {
        if (m_layers.empty()) throw ShapeError("DynamicNetwork: no layers given");
        finish_construction();
    }

    /// The number of layers L (the input is not a layer).
    std::size_t layer_count() const { return m_layers.size(); }
    /// The number of inputs, the size of x.
    Eigen::Index inputs() const { return m_layers.front().inputs(); }
    /// The number of outputs, the size of aᴸ.
    Eigen::Index outputs() const { return m_layers.back().outputs(); }
    /// {inputs, hidden..., outputs}.
    std::vector<Eigen::Index> sizes() const {
        std::vector<Eigen::Index> result{inputs()};
        for (const AnyLayer<Scalar>& layer : m_layers) result.push_back(layer.outputs());
        return result;
    }

    /// Layer i (zero-based: layer(0) holds W¹ and b¹ of the notes) as the usual Dense layer;
    /// throws std::out_of_range past the last layer, ConfigError when layer i is of another type
    /// (any_layer(i) holds any type).
    Layer& layer(std::size_t i) { return layer_as<Layer>(i); }
    /// Layer i as the usual Dense layer, read-only.
    const Layer& layer(std::size_t i) const { return layer_as<Layer>(i); }

    /// Layer i as type L; throws std::out_of_range past the last layer, ConfigError when it is
    /// of another type.
    template <class L>
    L& layer_as(std::size_t i) {
        return const_cast<L&>(std::as_const(*this).template layer_as<L>(i));
    }
    /// Layer i as type L, read-only.
    template <class L>
    const L& layer_as(std::size_t i) const {
        const L* layer = m_layers.at(i).template get<L>();
        if (!layer) {
            throw ConfigError(detail::cat("DynamicNetwork: layer ", i + 1, " is a ",
                                          m_layers[i].type_name(),
                                          " layer of another type than the one asked for; "
                                          "any_layer(", i, ") holds it"));
        }
        return *layer;
    }

    /// Layer i, whatever its type.
    AnyLayer<Scalar>& any_layer(std::size_t i) { return m_layers.at(i); }
    /// Layer i, whatever its type, read-only.
    const AnyLayer<Scalar>& any_layer(std::size_t i) const { return m_layers.at(i); }

    /// 0, the index of the first layer.
    static constexpr std::size_t first_index() { return 0; }
    /// The index of the output layer.
    std::size_t last_index() const { return m_layers.size() - 1; }

    /// Calls f(layer, index) for each layer (an AnyLayer), input side first.
    template <class F>
    void for_each_layer(F&& f) const {
        for (std::size_t i = 0; i < m_layers.size(); ++i) f(m_layers[i], i);
    }
    /// Calls f(layer, index) for each layer, input side first, with the layers writable.
    template <class F>
    void for_each_layer(F&& f) {
        for (std::size_t i = 0; i < m_layers.size(); ++i) f(m_layers[i], i);
    }
    /// Calls f(layer, index) for each layer, output side first: the order of backpropagation.
    template <class F>
    void for_each_layer_reverse(F&& f) const {
        for (std::size_t i = m_layers.size(); i-- > 0;) f(m_layers[i], i);
    }

    /// Draws every W again from `seed` with DefaultInit: He uniform for rectifier layers (ReLU,
    /// leaky ReLU, ELU, GELU, softplus), Glorot uniform for the others; biases 0.
    void initialize(std::uint64_t seed) { initialize(seed, DefaultInit{}); }

    /// Draws every W (and b) again from `seed` with `init`, e.g. `net.initialize(7, HeNormal{})`,
    /// a PerLayer, or a callable `double(const WeightEntry&, Rng&)` (see init.hpp). One Rng
    /// serves the layers in order, so one seed gives one network bit for bit. Throws ConfigError,
    /// with no weight changed, for a PerLayer whose count is not layer_count().
    template <class Initializer>
    void initialize(std::uint64_t seed, const Initializer& init) {
        detail::check_initializer_fits(init, m_layers.size());
        Rng rng(seed);
        for (std::size_t i = 0; i < m_layers.size(); ++i) m_layers[i].initialize(init, i, rng);
    }

private:
    void finish_construction() {
        for (std::size_t i = 0; i < m_layers.size(); ++i) {
            m_layers[i].set_number(int(i) + 1);
            if (i > 0) detail::check_layers_chain(m_layers[i], m_layers[i - 1], i + 1);
        }
        detail::check_loss_fits<Loss>(m_layers.back(), m_layers.size());
        if (LossTraits<Loss>::fused && !m_layers.back().has_error_buffers()) {
            throw ConfigError(detail::cat("the loss ", Loss::name(), " writes δ of the output "
                                          "layer, but ", layer_name(m_layers.back(),
                                                                    m_layers.size()),
                                          " keeps no z and δ"));
        }
    }

    std::vector<AnyLayer<Scalar>> m_layers;
};

}  // namespace nabla
