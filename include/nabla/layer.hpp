#pragma once

// The layer concept: what a type must provide for Network and DynamicNetwork to stack it, train
// it, save it and load it. Dense (layers/dense.hpp) and Dropout (layers/dropout.hpp) are its two
// models in nabla; docs/extending.md writes a third in a file of its own.
//
// A layer L with scalar type S provides:
//
//     using Scalar = S;
//     static constexpr int InputsAtCompileTime, OutputsAtCompileTime;   // or Eigen::Dynamic
//     static constexpr int ParametersAtCompileTime;  // scalars in its parameter blocks, or Dynamic
//     static constexpr const char* type_name();    // "Dense": messages and model files
//     template <int Batch> using State = ...;      // derives from LayerBuffers<S, Outputs, Batch>
//     Eigen::Index inputs() const, outputs() const;
//     Eigen::Index parameter_count() const;        // scalars in all its parameter blocks
//     template <class F> void for_each_parameter(F&& f);        // f(block, "W") per block, in
//     template <class F> void for_each_parameter(F&& f) const;  // the order of the gradients
//
//     template <int Batch> void prepare(State<Batch>&, Eigen::Index batch, S* gradients) const;
//         // sizes the buffers for `batch` columns; `gradients` is where this layer's
//         // parameter_count() gradient entries live, block after block, column-major; a state
//         // keeps GradientView's of them and points them there again in bind_gradients(S*)
//     void forward(const Eigen::MatrixBase<In>& a_prev, State& s, const Pass& pass) const;
//         // s.a from aˡ⁻¹ (inputs × batch)
//     void backward(const Eigen::MatrixBase<In>& a_prev, State& s, const BackwardPass& how) const;
//         // from s.da = ∂C/∂aˡ: the layer's error terms and, when how.store_gradients, its
//         // parameter gradients (means over the batch)
//     void propagate(const State& s, Below&& da_below) const;
//         // ∂C/∂aˡ⁻¹, the error handed to the layer below (inputs × batch, sized already)
//
// and may provide:
//
//     using Activation; const Activation& activation() const;
//         // σ of its output: a loss that needs a particular output σ checks it, and a fused loss
//         // (CrossEntropy with Softmax) writes s.delta itself (how.delta_given); its state then
//         // keeps z and delta
//     bool folds_step<In>(Eigen::Index batch) const;
//     bool step_is_finite(const Eigen::MatrixBase<In>& a_prev, const State& s, S rate) const;
//     void descend(const Eigen::MatrixBase<In>& a_prev, const State& s, S learning_rate);
//         // plain gradient descent without the gradient stored: train_step calls descend()
//         // instead of backward(store_gradients) for layers where folds_step() is true, once
//         // step_is_finite(), asked when the whole backward pass has written every δ, has
//         // vouched for every such layer. Its answer must be monotone in the rate: true at a
//         // rate means true at every smaller one (the networks ask at a much larger rate first,
//         // and take a true answer there for the step's own rate too)
//     bool folds_parts<In>(Eigen::Index batch) const;
//     void descend_part(const Eigen::MatrixBase<In>& a_prev, const State& s, S step,
//                       int part, int parts);
//         // part `part` of `parts` of descend(), the step size η/n given, the parts disjoint
//         // in memory: DataParallel's threads each fold every shard's step into their own
//         // part, for layers where folds_parts() is true (once step_is_finite() has vouched
//         // for each shard)
//     bool splits_rows() const;
//     void forward_rows(const Eigen::MatrixBase<In>& a_prev, State& s, Eigen::Index first,
//                       Eigen::Index count) const;
//     void delta_rows(State& s, Eigen::Index first, Eigen::Index count) const;
//     void propagate_rows(const State& s, Below&& da_below, Eigen::Index first,
//                         Eigen::Index count) const;
//         // forward(), the error terms of backward() and propagate() for rows [first,
//         // first + count) alone (of s.a and s.delta; of da_below), where splits_rows() is
//         // true: DataParallel's split by neurons gives each thread its rows of every layer,
//         // and folds the step with descend_part(), so a layer needs both to be split so
//     template <class Init> void initialize(const Init&, std::size_t index, Rng&);
//         // fills its parameters as layer `index` of its network (init.hpp)
//     void write_attributes(Attributes&) const; static L from_spec(const LayerSpec&);
//         // what a model file keeps beside the parameters (Dropout's rate), and how
//         // load_network() builds the layer again once register_layer<L>() has named it
//     void set_number(int);                       // its place in a network, for messages
//
// A layer that draws random numbers (Dropout) takes them from pass.rng, the generator of the
// workspace that runs the pass.

#include <nabla/any_activation.hpp>
#include <nabla/attributes.hpp>
#include <nabla/random.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>
#include <string>
#include <type_traits>
#include <utility>

namespace nabla {

/// What a forward pass is for.
enum class PassKind {
    predict,  ///< Inference: dropout is the identity.
    train,    ///< A training pass: dropout draws a new mask from the pass's generator.
    replay,   ///< A training pass that reuses the masks of the last train pass on the same
              ///< workspace: the cost of one fixed sub-network (gradient checks).
};

/// How a forward pass runs: its kind, and the generator that training passes draw from.
struct Pass {
    PassKind kind = PassKind::predict;  ///< Predicting, training, or replaying a training pass.
    Rng* rng = nullptr;                 ///< Where a train pass draws its random numbers.

    /// True for train and replay passes: the network as it trains, not as it predicts.
    bool training() const { return kind != PassKind::predict; }
};

/// How a backward pass runs for one layer.
struct BackwardPass {
    /// s.delta already holds δˡ = ∂C/∂zˡ: a fused loss wrote it (CrossEntropy with Softmax gives
    /// δᴸ = a − y), so the layer must not take it from s.da.
    bool delta_given = false;
    /// Store the parameter gradients. train_step clears it for layers that fold their step into
    /// the parameters (descend()).
    bool store_gradients = true;
};

/// What a model file says of a layer, for a layer type's from_spec() to build it again.
struct LayerSpec {
    Eigen::Index inputs = 0;   ///< m, the neurons of the layer below.
    Eigen::Index outputs = 0;  ///< n, the neurons of the layer.
    AnyActivation activation;  ///< σ of the layer; the identity for a layer without one.
    Attributes attributes;     ///< The layer's own attributes, e.g. Dropout's rate.
};

/// A layer state's view of one parameter block's gradient in the workspace's gradient array: a
/// matrix map (write it as any Eigen matrix, `dW = ...`) that the workspace points at the right
/// entries (bind()). Copying a state copies where the view points, not the entries: a copied
/// workspace then points it at its own array.
template <class Plain>
class GradientView : public Eigen::Map<Plain> {
    using Base = Eigen::Map<Plain>;

public:
    using typename Base::Scalar;

    /// Points nowhere, shaped rows × cols (for a fixed-size block, its own shape).
    GradientView()
        : Base(nullptr, Plain::RowsAtCompileTime == Eigen::Dynamic ? 0 : Plain::RowsAtCompileTime,
               Plain::ColsAtCompileTime == Eigen::Dynamic ? 0 : Plain::ColsAtCompileTime) {}
    /// The same place as `other`.
    GradientView(const GradientView& other) : Base(other) {}
    /// Points where `other` points; copies no entry.
    GradientView& operator=(const GradientView& other) {
        bind(const_cast<Scalar*>(other.data()), other.rows(), other.cols());
        return *this;
    }
    /// Writes the entries of an Eigen expression, as a map does.
    using Base::operator=;

    /// Points the view at the `rows` × `cols` entries from `data`, column by column.
    void bind(Scalar* data, Eigen::Index rows, Eigen::Index cols) {
        new (static_cast<Base*>(this)) Base(data, rows, cols);
    }
    /// Points the view at `data`, keeping its shape.
    void bind(Scalar* data) { bind(data, this->rows(), this->cols()); }
};

/// The buffers every layer state has, outputs × batch each: what the layer gives the layer above
/// and what the layer above gives back. A layer's State derives from this.
template <class Scalar, int Outputs, int Batch>
struct LayerBuffers {
    /// outputs × batch.
    using Activations = Eigen::Matrix<Scalar, Outputs, Batch>;

    Activations a;   ///< aˡ, the layer's output.
    Activations da;  ///< ∂C/∂aˡ per sample: from the loss at the output, from the layer above below.

    /// Sizes a and da for `outputs` × `batch`; a buffer that has the shape already is left alone.
    void resize_buffers(Eigen::Index outputs, Eigen::Index batch) {
        if (a.rows() != outputs || a.cols() != batch) a.resize(outputs, batch);
        if (da.rows() != outputs || da.cols() != batch) da.resize(outputs, batch);
    }

    /// Points the state's views of its gradients at `gradients` again, after the workspace that
    /// holds them was copied or moved. A state without gradient views has nothing to do.
    void bind_gradients(Scalar*) {}
};

namespace detail {

template <class L, class = void>
struct HasActivation : std::false_type {};
template <class L>
struct HasActivation<L, std::void_t<typename L::Activation>> : std::true_type {};

template <class L, class In, class = void>
struct CanDescend : std::false_type {};
template <class L, class In>
struct CanDescend<L, In,
                  std::void_t<decltype(std::declval<const L&>().template folds_step<In>(
                      Eigen::Index(1)))>> : std::true_type {};

template <class L, class In, class = void>
struct CanDescendParts : std::false_type {};
template <class L, class In>
struct CanDescendParts<L, In,
                       std::void_t<decltype(std::declval<const L&>().template folds_parts<In>(
                          Eigen::Index(1)))>> : std::true_type {};

template <class L, class = void>
struct CanSplitRows : std::false_type {};
template <class L>
struct CanSplitRows<L, std::void_t<decltype(std::declval<const L&>().splits_rows())>>
    : std::true_type {};

template <class L, class = void>
struct HasActivationPointer : std::false_type {};
template <class L>
struct HasActivationPointer<L, std::void_t<decltype(std::declval<const L&>().activation_if_any())>>
    : std::true_type {};

template <class L, class Init, class = void>
struct HasInitialize : std::false_type {};
template <class L, class Init>
struct HasInitialize<L, Init,
                     std::void_t<decltype(std::declval<L&>().initialize(
                         std::declval<const Init&>(), std::size_t(0), std::declval<Rng&>()))>>
    : std::true_type {};

template <class L, class = void>
struct HasSetNumber : std::false_type {};
template <class L>
struct HasSetNumber<L, std::void_t<decltype(std::declval<L&>().set_number(1))>>
    : std::true_type {};

template <class State, class = void>
struct HasDelta : std::false_type {};
template <class State>
struct HasDelta<State, std::void_t<decltype(std::declval<const State&>().delta)>>
    : std::true_type {};

/// Fills the parameters of `layer` (zero-based `index`) with `init`, when it has any to fill.
template <class Layer, class Init>
void initialize_layer(Layer& layer, const Init& init, std::size_t index, Rng& rng) {
    if constexpr (HasInitialize<Layer, Init>::value) layer.initialize(init, index, rng);
}

}  // namespace detail

/// True when layer type L has an output activation (Dense does; Dropout does not).
template <class L>
inline constexpr bool has_activation_v = detail::HasActivation<L>::value;

/// True when L folds a plain gradient-descent step into its parameters for inputs of type In.
template <class L, class In>
inline constexpr bool can_descend_v = detail::CanDescend<L, In>::value;

/// True when DataParallel can fold L's step into its parameters in parts, one per thread, for
/// inputs of type In.
template <class L, class In>
inline constexpr bool can_descend_parts_v = detail::CanDescendParts<L, In>::value;

/// True when L's neurons can be split between threads (forward_rows(), delta_rows(),
/// propagate_rows()) for some of its instances: DataParallel then asks each one splits_rows().
template <class L>
inline constexpr bool can_split_rows_v = detail::CanSplitRows<L>::value;

namespace detail {

/// The name of an activation ("relu"); "" for a policy type without a name(), which trains but
/// cannot be saved or chosen at run time.
template <class A>
std::string_view name_of_activation(const A& activation) {
    if constexpr (std::is_same_v<A, AnyActivation>)
        return activation.name();
    else if constexpr (HasName<A>::value)
        return A::name();
    else
        return "";
}

}  // namespace detail

/// The name of σ of `layer`'s output ("relu"), or "" for a layer without one.
template <class L>
std::string_view activation_name(const L& layer) {
    if constexpr (detail::HasActivationPointer<L>::value) {
        const AnyActivation* activation = layer.activation_if_any();
        return activation ? activation->name() : std::string_view();
    } else if constexpr (has_activation_v<L>) {
        return detail::name_of_activation(layer.activation());
    } else {
        return "";
    }
}

/// σ of `layer`'s output by name and attributes (an empty name for a layer without one). A
/// policy activation must have a name() to be described at all.
template <class L>
ActivationSpec activation_spec(const L& layer) {
    if constexpr (detail::HasActivationPointer<L>::value) {
        const AnyActivation* activation = layer.activation_if_any();
        return activation ? activation->spec() : ActivationSpec{};
    } else if constexpr (has_activation_v<L>) {
        using A = typename L::Activation;
        if constexpr (std::is_same_v<A, AnyActivation>) {
            return layer.activation().spec();
        } else {
            static_assert(detail::HasName<A>::value,
                          "NABLA_SAVING_AN_ACTIVATION_NEEDS_ITS_NAME: give the activation type "
                          "static constexpr const char* name()");
            return {A::name(), detail::attributes_of(layer.activation())};
        }
    } else {
        return {};
    }
}

/// The layer's own attributes (Dropout's rate); empty for a layer without any.
template <class L>
Attributes layer_attributes(const L& layer) {
    Attributes attributes;
    if constexpr (detail::WritesAttributes<L>::value) layer.write_attributes(attributes);
    return attributes;
}

/// A layer state's error term, as fit() records its norm and diagrams show it: δ = ∂C/∂z for a
/// layer with an activation, ∂C/∂a for one without (a layer of a DynamicNetwork without one
/// shows an empty δ).
template <class State>
const auto& error_term(const State& state) {
    if constexpr (detail::HasDelta<State>::value) {
        if constexpr (std::is_same_v<std::decay_t<decltype(state.delta)>,
                                     std::decay_t<decltype(state.da)>>) {
            return state.delta.size() > 0 ? state.delta : state.da;
        } else {
            return state.delta;
        }
    } else {
        return state.da;
    }
}

/// "Dense layer 2": how messages name layer `number` (from 1) of type L.
template <class L>
std::string layer_name(const L& layer, std::size_t number) {
    return std::string(layer.type_name()) + " layer " + std::to_string(number);
}

}  // namespace nabla
