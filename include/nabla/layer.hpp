#pragma once

#include <nabla/activation.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/detail/gemm.hpp>
#include <nabla/detail/small.hpp>
#include <nabla/error.hpp>
#include <nabla/init.hpp>
#include <nabla/layer_state.hpp>
#include <nabla/random.hpp>

#include <Eigen/Core>
#include <string>
#include <type_traits>

namespace nabla {

namespace detail {
struct LayerAccess;
}

/// A fully-connected layer: zˡ = Wˡaˡ⁻¹ + bˡ, aˡ = σ(zˡ), on a batch with one sample per column.
/// W is outputs × inputs: w_jk joins neuron k of layer l−1 to neuron j of layer l, as in the
/// notes. `Inputs` and `Outputs` are compile-time sizes or Eigen::Dynamic; `Activation` is a
/// policy type (Sigmoid, ReLU, ...) or AnyActivation for a choice made at run time.
///
/// The layer holds parameters only. What a pass computes (z, a, δ, ∂C/∂W, ...) goes into a
/// LayerState owned by a workspace, so one const layer can serve several threads.
template <class Scalar_, int Inputs, int Outputs, class Activation_ = Sigmoid>
class Dense {
    static_assert(Inputs == Eigen::Dynamic || Inputs > 0, "NABLA_LAYER_INPUTS_MUST_BE_POSITIVE");
    static_assert(Outputs == Eigen::Dynamic || Outputs > 0, "NABLA_LAYER_OUTPUTS_MUST_BE_POSITIVE");

public:
    using Scalar = Scalar_;                               ///< float or double.
    using Activation = Activation_;                       ///< σ of this layer.
    using Weights = Eigen::Matrix<Scalar, Outputs, Inputs>;  ///< W: outputs × inputs.
    using Bias = Eigen::Matrix<Scalar, Outputs, 1>;          ///< b: outputs × 1.
    static constexpr int InputsAtCompileTime = Inputs;    ///< m, or Eigen::Dynamic.
    static constexpr int OutputsAtCompileTime = Outputs;  ///< n, or Eigen::Dynamic.
    /// The buffers of this layer for a batch of `Batch` columns.
    template <int Batch>
    using State = LayerState<Scalar, Inputs, Outputs, Batch>;

    /// A layer whose sizes are all fixed at compile time; W and b are zero.
    template <int I = Inputs, int O = Outputs,
              std::enable_if_t<I != Eigen::Dynamic && O != Eigen::Dynamic, int> = 0>
    Dense() : m_weights(Weights::Zero()), m_bias(Bias::Zero()) {}

    /// A layer of `inputs` → `outputs` neurons with W and b zero. Sizes fixed at compile time
    /// must be given again, equal; throws ShapeError otherwise.
    explicit Dense(Eigen::Index inputs, Eigen::Index outputs, Activation activation = Activation())
        : m_activation(activation) {
        if (inputs < 1 || outputs < 1 || (Inputs != Eigen::Dynamic && inputs != Inputs) ||
            (Outputs != Eigen::Dynamic && outputs != Outputs)) {
            throw ShapeError(detail::cat("Dense layer: asked for ", inputs, " inputs and ",
                                         outputs, " outputs, the type allows ",
                                         size_name(Inputs), " and ", size_name(Outputs)));
        }
        m_weights.setZero(outputs, inputs);
        m_bias.setZero(outputs);
    }

    /// m, the neurons of layer l−1.
    Eigen::Index inputs() const { return m_weights.cols(); }
    /// n, the neurons of this layer.
    Eigen::Index outputs() const { return m_weights.rows(); }
    /// Wˡ, outputs × inputs.
    const Weights& weights() const { return m_weights; }
    /// bˡ, outputs × 1.
    const Bias& bias() const { return m_bias; }
    /// σ of this layer.
    const Activation& activation() const { return m_activation; }
    /// The layer's place in its network, 1 for the first layer as in the notes (0 when alone).
    int number() const { return m_number; }

    /// Sets W; throws ShapeError naming the layer and both shapes unless w is outputs × inputs.
    template <class Derived>
    void set_weights(const Eigen::MatrixBase<Derived>& w) {
        if (w.rows() != outputs() || w.cols() != inputs()) {
            throw ShapeError(detail::cat(name(), ": weights set with shape ",
                                         detail::shape(w.rows(), w.cols()), ", the layer's W is ",
                                         detail::shape(outputs(), inputs()),
                                         " (outputs x inputs)"));
        }
        m_weights = w;
    }

    /// Sets b; throws ShapeError naming the layer and both shapes unless b is outputs × 1.
    template <class Derived>
    void set_bias(const Eigen::MatrixBase<Derived>& b) {
        if (b.rows() != outputs() || b.cols() != 1) {
            throw ShapeError(detail::cat(name(), ": bias set with shape ",
                                         detail::shape(b.rows(), b.cols()), ", the layer's b is ",
                                         detail::shape(outputs(), 1)));
        }
        m_bias = b;
    }

    /// Draws W from the initialisation that fits σ (He for ReLU and leaky ReLU, Glorot otherwise);
    /// b = 0.
    void initialize(Rng& rng) {
        default_initialize(m_weights, m_activation.kind(), rng);
        m_bias.setZero();
    }

    /// z = W a + b, a = σ(z) on a batch; `input` is aˡ⁻¹ (inputs × batch). Throws ShapeError
    /// when its rows do not match the layer.
    template <class Input, int Batch>
    void forward(const Eigen::MatrixBase<Input>& input, State<Batch>& state) const {
        check_input_rows(input.rows());
        // A small layer is summed entry by entry (detail/small.hpp), a large one by detail::gemm.
        if (detail::reads_memory<Input>() &&
            detail::is_small_product(outputs(), input.cols(), inputs())) {
            detail::small_affine(state.z, m_weights, input.derived(), m_bias);  // z = W a + b
        } else {
            detail::gemm(state.z, m_weights, input, Scalar(1), false);  // z = W a
            state.z.colwise() += m_bias;                                //     + b
        }
        m_activation.forward(state.z, state.a);  // a = σ(z)
    }

    /// δᴸ of the output layer, equation (1), as `Loss` defines it: ∂C/∂aᴸ ⊙ σ'(zᴸ), the softmax
    /// Jacobian-vector product, or the fused a − y of the cross-entropy losses.
    template <class Loss, int Batch, class Y>
    void output_delta(State<Batch>& state, const Eigen::MatrixBase<Y>& y) const {
        Loss::output_delta(m_activation, state, y);
    }

    /// δ of a hidden layer, equation (4): δˡ = (Wˡ⁺¹)ᵀδˡ⁺¹ ⊙ σ'(zˡ), with (Wˡ⁺¹)ᵀδˡ⁺¹ already in
    /// state.da (put there by propagate() of the layer above).
    template <int Batch>
    void hidden_delta(State<Batch>& state) const {
        m_activation.backward(state.z, state.a, state.da, state.delta);
    }

    /// ∂C/∂W and ∂C/∂b from δ, each the mean over the batch (§1.6); `input` is aˡ⁻¹.
    template <class Input, int Batch>
    void gradients(const Eigen::MatrixBase<Input>& input, State<Batch>& state) const {
        if (small_gradient<Input>(state.delta.cols())) {
            detail::small_gradients(state.dW, state.db, state.delta, input.derived());  // δ aᵀ, δ
            return;
        }
        const Scalar inv_batch = Scalar(1) / Scalar(state.delta.cols());
        detail::gemm(state.dW, state.delta, input.transpose(), inv_batch, false);  // (3), (6): δ aᵀ
        state.db.noalias() = inv_batch * state.delta.rowwise().sum();              // (2), (5): δ
    }

    /// ∂C/∂aˡ⁻¹ = (Wˡ)ᵀδˡ (§2.4.2), the error handed to the layer below (or the input gradient).
    template <int Batch, class Derived>
    void propagate(const State<Batch>& state, Eigen::MatrixBase<Derived>& da_below) const {
        if (detail::is_small_product(inputs(), state.delta.cols(), outputs()))
            detail::small_transposed_product(da_below.derived(), m_weights, state.delta);  // Wᵀδ
        else
            detail::gemm(da_below, m_weights.transpose(), state.delta, Scalar(1), false);
    }

    /// One step of gradient descent: W ← W − η∇W, b ← b − η∇b.
    template <int Batch>
    void update(const State<Batch>& state, Scalar learning_rate) {
        m_weights -= learning_rate * state.dW;
        m_bias -= learning_rate * state.db;
    }

    /// True when train_step folds this layer's step into W (descend()) for `batch` samples of
    /// type `Input`: a layer whose products run through detail::gemm. A small layer's ∂C/∂W is a
    /// few entries summed one by one (detail/small.hpp); storing it costs nothing worth saving.
    template <class Input>
    bool folds_step(Eigen::Index batch) const {
        return !small_gradient<Input>(batch);
    }

    /// gradients() and update() in one product: W ← W − (η/n) δ aᵀ, b ← b − (η/n) Σδ, with δaᵀ
    /// added straight into W so that ∂C/∂W is neither stored nor read back. `input` is aˡ⁻¹. The
    /// caller has checked that the step is finite (detail::step_is_finite); nothing here can
    /// refuse it once W has begun to change.
    template <class Input, int Batch>
    void descend(const Eigen::MatrixBase<Input>& input, const State<Batch>& state,
                 Scalar learning_rate) {
        const Scalar step = learning_rate / Scalar(state.delta.cols());
        detail::gemm(m_weights, state.delta, input.transpose(), -step, true);  // (3), (6) in W
        m_bias.noalias() -= step * state.delta.rowwise().sum();                // (2), (5) in b
    }

    /// "Dense layer 2" (or "Dense layer" when the layer is not in a network), for messages.
    std::string name() const {
        return m_number > 0 ? detail::cat("Dense layer ", m_number) : std::string("Dense layer");
    }

private:
    friend struct detail::LayerAccess;

    static std::string size_name(int size) {
        return size == Eigen::Dynamic ? std::string("any size") : detail::cat(size);
    }

    // ∂C/∂W summed entry by entry (detail/small.hpp) rather than by detail::gemm.
    template <class Input>
    bool small_gradient(Eigen::Index batch) const {
        return detail::reads_memory<Input>() &&
               detail::is_small_product(outputs(), inputs(), batch);
    }

    void check_input_rows(Eigen::Index rows) const {
        if (rows != inputs()) {
            throw ShapeError(detail::cat(name(), ": input has ", rows, " rows, the layer expects ",
                                         inputs()));
        }
    }

    Weights m_weights;
    Bias m_bias;
    Activation m_activation{};
    int m_number = 0;
};

namespace detail {

/// The library's own door to a layer's parameters: networks number their layers, gradient
/// checks and optimizers write W and b in place. Users go through set_weights().
struct LayerAccess {
    template <class Layer>
    static typename Layer::Weights& weights(Layer& layer) { return layer.m_weights; }
    template <class Layer>
    static typename Layer::Bias& bias(Layer& layer) { return layer.m_bias; }
    template <class Layer>
    static void set_number(Layer& layer, int number) { layer.m_number = number; }
};

}  // namespace detail

}  // namespace nabla
