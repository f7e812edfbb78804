#pragma once

// The layer concept: what a type must provide for Network and DynamicNetwork to stack it, train
// it, save it and load it. Dense (layers/dense.hpp) and Dropout (layers/dropout.hpp) are its two
// models in nabla; docs/extending.md writes a third in a file of its own.
//
// A layer L with scalar type S provides:
//
//     using Scalar = S;
//     static constexpr int InputsAtCompileTime, OutputsAtCompileTime;   // or Eigen::Dynamic
//     static constexpr const char* type_name();    // "Dense": messages and model files
//     template <int Batch> using State = ...;      // derives from LayerBuffers<S, Outputs, Batch>
//     Eigen::Index inputs() const, outputs() const;
//     Eigen::Index parameter_count() const;        // scalars in all its parameter blocks
//     template <class F> void for_each_parameter(F&& f);        // f(block, "W") per block, in
//     template <class F> void for_each_parameter(F&& f) const;  // the order of the gradients
//
//     template <int Batch> void prepare(State<Batch>&, Eigen::Index batch, S* gradients) const;
//         // sizes the buffers for `batch` columns; `gradients` is where this layer's
//         // parameter_count() gradient entries live, block after block, column-major
//     void forward(const Eigen::MatrixBase<In>& a_prev, State& s, const Pass& pass) const;
//         // s.a from aˡ⁻¹ (inputs × batch)
//     void backward(const Eigen::MatrixBase<In>& a_prev, State& s, const BackwardPass& how) const;
//         // from s.da = ∂C/∂aˡ: the layer's error terms and, when how.store_gradients, its
//         // parameter gradients (means over the batch)
//     void propagate(const State& s, Eigen::MatrixBase<Below>& da_below) const;
//         // ∂C/∂aˡ⁻¹, the error handed to the layer below (inputs × batch)
//
// and may provide:
//
//     using Activation; const Activation& activation() const;
//         // σ of its output: a loss that needs a particular output σ checks it, and a fused loss
//         // (CrossEntropy with Softmax) writes s.delta itself (how.delta_given)
//     void descend(const Eigen::MatrixBase<In>& a_prev, const State& s, S learning_rate);
//     bool folds_step<In>(Eigen::Index batch) const;
//         // plain gradient descent without the gradient stored: train_step calls descend()
//         // instead of backward(store_gradients) for layers where folds_step() is true
//     template <class Init> void initialize(const Init&, const InitContext&, Rng&);
//     void seed(State&, std::uint64_t) const;    // layers that draw random numbers (Dropout)
//     void write_attributes(Attributes&) const; static L from_attributes(in, out, const Attributes&);
//         // what a model file keeps beside the parameters (Dropout's rate)
//     void set_number(int);                       // its place in a network, for messages

#include <nabla/random.hpp>

#include <Eigen/Core>
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

template <class L, class = void>
struct HasSetNumber : std::false_type {};
template <class L>
struct HasSetNumber<L, std::void_t<decltype(std::declval<L&>().set_number(1))>>
    : std::true_type {};

template <class L, class State, class = void>
struct HasSeed : std::false_type {};
template <class L, class State>
struct HasSeed<L, State,
               std::void_t<decltype(std::declval<const L&>().seed(std::declval<State&>(),
                                                                   std::uint64_t(0)))>>
    : std::true_type {};

}  // namespace detail

/// True when layer type L has an output activation (Dense does; Dropout does not).
template <class L>
inline constexpr bool has_activation_v = detail::HasActivation<L>::value;

/// True when L folds a plain gradient-descent step into its parameters for inputs of type In.
template <class L, class In>
inline constexpr bool can_descend_v = detail::CanDescend<L, In>::value;

/// "Dense layer 2": how messages name layer `number` (from 1) of type L.
template <class L>
std::string layer_name(const L& layer, std::size_t number) {
    return std::string(layer.type_name()) + " layer " + std::to_string(number);
}

}  // namespace nabla
