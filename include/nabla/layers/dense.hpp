#pragma once

#include <nabla/activation.hpp>
#include <nabla/detail/all_finite.hpp>
#include <nabla/detail/finite_step.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/detail/product.hpp>
#include <nabla/error.hpp>
#include <nabla/init.hpp>
#include <nabla/layer.hpp>
#include <nabla/random.hpp>

#include <Eigen/Core>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

namespace nabla {

namespace detail {

/// A view of run-time size of rows of a column-major matrix (or of one row of any matrix): the
/// row helpers below take their operands so, and every Dense layer of a scalar type then shares
/// one instantiation of each product and activation, whatever its compile-time sizes, so that
/// the split by neurons costs a network little to compile.
template <class Scalar>
using Rows = Eigen::Map<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>, 0,
                        Eigen::OuterStride<>>;
/// Rows, read-only.
template <class Scalar>
using ConstRows = Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>, 0,
                             Eigen::OuterStride<>>;

/// `m` (entries in memory, column-major or a single row: a matrix, a map or a block of one) as
/// Rows, or ConstRows when its entries are read-only. Throws ShapeError for other entries (a
/// transposed matrix): a view of run-time layout would read them wrong.
template <class M>
auto rows_view(M&& m) {
    if (m.rows() > 1 && m.rowStride() != 1) {
        throw ShapeError(cat("the split by neurons reads column-major matrices, and was given a ",
                             shape(m.rows(), m.cols()), " one whose rows lie ", m.rowStride(),
                             " entries apart"));
    }
    using Scalar = typename std::decay_t<M>::Scalar;
    using View = std::conditional_t<
        std::is_const_v<std::remove_pointer_t<decltype(m.data())>>, ConstRows<Scalar>,
        Rows<Scalar>>;
    // A single row's next column is colStride() on: 1 for a row-major row.
    return View(m.data(), m.rows(), m.cols(), Eigen::OuterStride<>(m.colStride()));
}

/// z = W a + b and a = σ(z) for the rows that w, b, z and a hold (Dense::forward_rows).
template <class Activation, class Scalar>
void forward_rows(const Activation& sigma, const ConstRows<Scalar>& w, const ConstRows<Scalar>& b,
                  const ConstRows<Scalar>& input, Rows<Scalar> z, Rows<Scalar> a) {
    affine(z, w, input, b.col(0));  // z = W a + b
    sigma.forward(z, a);            // a = σ(z)
}

/// δ = ∂C/∂a ⊙ σ'(z) for the rows that z, a, da and delta hold (Dense::delta_rows).
template <class Activation, class Scalar>
void delta_rows(const Activation& sigma, const ConstRows<Scalar>& z, const ConstRows<Scalar>& a,
                const ConstRows<Scalar>& da, Rows<Scalar> delta) {
    sigma.backward(z, a, da, delta);  // (1), (4)
}

/// The rows of ∂C/∂aˡ⁻¹ = Wᵀδ that w_columns (the matching columns of W) give
/// (Dense::propagate_rows).
template <class Scalar>
void propagate_rows(const ConstRows<Scalar>& w_columns, const ConstRows<Scalar>& delta,
                    Rows<Scalar> da_rows) {
    product(da_rows, w_columns.transpose(), delta);  // Wᵀδ
}

}  // namespace detail

/// What a Dense layer computes for one batch, kept in a workspace and readable after each pass:
/// the library doubles as the executable version of the notes. Columns are samples.
/// `Inputs`, `Outputs` and `Batch` are compile-time sizes or Eigen::Dynamic.
///
/// ∂C/∂W and ∂C/∂b are views of the workspace's gradients, which lie in one contiguous array for
/// the whole network (see parameters.hpp); the workspace points them there.
template <class Scalar, int Inputs, int Outputs, int Batch>
struct LayerState : LayerBuffers<Scalar, Outputs, Batch> {
    /// outputs × batch, like z, a, ∂C/∂a and δ.
    using Activations = Eigen::Matrix<Scalar, Outputs, Batch>;
    /// outputs × inputs, like W.
    using Weights = Eigen::Matrix<Scalar, Outputs, Inputs>;
    /// outputs × 1, like b.
    using Bias = Eigen::Matrix<Scalar, Outputs, 1>;

    Activations z;      ///< zˡ = Wˡaˡ⁻¹ + bˡ.
    Activations delta;  ///< δˡ = ∂C/∂zˡ per sample: equation (1) at the output, (4) below.
    GradientView<Weights> dW;  ///< ∂C/∂Wˡ = mean over the batch of δˡ(aˡ⁻¹)ᵀ: equations (3), (6).
    GradientView<Bias> db;  ///< ∂C/∂bˡ = mean over the batch of δˡ: equations (2) and (5).

    /// Unsized, its gradient views pointing nowhere until a layer prepares it.
    LayerState() = default;
    /// A copy of the buffers. Gradient views into a workspace's array still point there until
    /// the workspace that holds the copy binds them (bind_gradients); a state that holds its own
    /// gradients keeps a copy of them.
    LayerState(const LayerState& other)
        : LayerBuffers<Scalar, Outputs, Batch>(other),
          z(other.z),
          delta(other.delta),
          dW(other.dW),
          db(other.db),
          m_own(other.m_own) {
        if (m_own.size() > 0)
            bind_gradients(m_own.data());
    }
    /// The buffers move; gradient views into a workspace's array still point there.
    LayerState(LayerState&& other) noexcept
        : LayerBuffers<Scalar, Outputs, Batch>(std::move(other)),
          z(std::move(other.z)),
          delta(std::move(other.delta)),
          dW(other.dW),
          db(other.db),
          m_own(std::move(other.m_own)) {
        if (m_own.size() > 0)
            bind_gradients(m_own.data());
    }
    /// As the copy.
    LayerState& operator=(const LayerState& other) {
        LayerBuffers<Scalar, Outputs, Batch>::operator=(other);
        z = other.z;
        delta = other.delta;
        dW = other.dW;
        db = other.db;
        m_own = other.m_own;
        if (m_own.size() > 0)
            bind_gradients(m_own.data());
        return *this;
    }

    /// As the move.
    LayerState& operator=(LayerState&& other) noexcept {
        LayerBuffers<Scalar, Outputs, Batch>::operator=(std::move(other));
        z = std::move(other.z);
        delta = std::move(other.delta);
        dW = other.dW;
        db = other.db;
        m_own = std::move(other.m_own);
        if (m_own.size() > 0)
            bind_gradients(m_own.data());
        return *this;
    }

    /// Sizes z, a, ∂C/∂a and δ for `outputs` × `batch` and shapes the gradient views as W and b,
    /// pointing at `gradients` (outputs·inputs entries of ∂C/∂W, column by column, then outputs
    /// of ∂C/∂b), or, when it is null, at an array the state holds itself (a layer used on its
    /// own, outside a network). A buffer that has its shape already is left alone.
    void resize(Eigen::Index inputs, Eigen::Index outputs, Eigen::Index batch,
                Scalar* gradients = nullptr) {
        this->resize_buffers(outputs, batch);
        if (z.rows() != outputs || z.cols() != batch)
            z.resize(outputs, batch);
        if (delta.rows() != outputs || delta.cols() != batch)
            delta.resize(outputs, batch);
        if (!gradients) {
            if (m_own.size() != outputs * (inputs + 1))
                m_own.resize(outputs * (inputs + 1));
            gradients = m_own.data();
        }
        dW.bind(gradients, outputs, inputs);
        db.bind(gradients + outputs * inputs, outputs, 1);
    }

    /// Points ∂C/∂W and ∂C/∂b at `gradients` again, with the shapes they have.
    void bind_gradients(Scalar* gradients) {
        dW.bind(gradients);
        db.bind(gradients ? gradients + dW.size() : nullptr);
    }

    /// True when every entry of ∂C/∂W and ∂C/∂b is finite.
    bool gradients_finite() const { return detail::all_finite(dW) && detail::all_finite(db); }

private:
    Eigen::Matrix<Scalar, Eigen::Dynamic, 1> m_own;  // the gradients of a state on its own
};

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
    using Scalar = Scalar_;                                  ///< float or double.
    using Activation = Activation_;                          ///< σ of this layer.
    using Weights = Eigen::Matrix<Scalar, Outputs, Inputs>;  ///< W: outputs × inputs.
    using Bias = Eigen::Matrix<Scalar, Outputs, 1>;          ///< b: outputs × 1.
    static constexpr int InputsAtCompileTime = Inputs;       ///< m, or Eigen::Dynamic.
    static constexpr int OutputsAtCompileTime = Outputs;     ///< n, or Eigen::Dynamic.
    /// n·m + n when both sizes are fixed, Eigen::Dynamic otherwise.
    static constexpr int ParametersAtCompileTime =
        Inputs == Eigen::Dynamic || Outputs == Eigen::Dynamic ? Eigen::Dynamic
                                                              : Outputs * Inputs + Outputs;
    /// The buffers of this layer for a batch of `Batch` columns.
    template <int Batch>
    using State = LayerState<Scalar, Inputs, Outputs, Batch>;

    /// "Dense", as messages and model files name the layer type.
    static constexpr const char* type_name() { return "Dense"; }

    /// A layer whose sizes are all fixed at compile time; W and b are zero.
    template <int I = Inputs, int O = Outputs,
              std::enable_if_t<I != Eigen::Dynamic && O != Eigen::Dynamic, int> = 0>
    Dense() : m_weights(Weights::Zero()), m_bias(Bias::Zero()) {}

    /// The layer a model file describes (for Dense layers whose σ is chosen at run time).
    template <class A = Activation, std::enable_if_t<std::is_same_v<A, AnyActivation>, int> = 0>
    static Dense from_spec(const LayerSpec& spec) {
        return Dense(spec.inputs, spec.outputs, spec.activation);
    }

    /// A layer of `inputs` → `outputs` neurons with W and b zero. Sizes fixed at compile time
    /// must be given again, equal; throws ShapeError otherwise.
    explicit Dense(Eigen::Index inputs, Eigen::Index outputs, Activation activation = Activation())
        : m_activation(activation) {
        if (inputs < 1 || outputs < 1 || (Inputs != Eigen::Dynamic && inputs != Inputs) ||
            (Outputs != Eigen::Dynamic && outputs != Outputs)) {
            throw ShapeError(detail::cat("Dense layer: asked for ", inputs, " inputs and ", outputs,
                                         " outputs, the type allows ", size_name(Inputs), " and ",
                                         size_name(Outputs)));
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
    /// Sets the place in a network that messages name; networks call it.
    void set_number(int number) { m_number = number; }

    /// Sets W; throws ShapeError naming the layer and both shapes unless w is outputs × inputs.
    template <class Derived>
    void set_weights(const Eigen::MatrixBase<Derived>& w) {
        if (w.rows() != outputs() || w.cols() != inputs()) {
            throw ShapeError(detail::cat(
                name(), ": weights set with shape ", detail::shape(w.rows(), w.cols()),
                ", the layer's W is ", detail::shape(outputs(), inputs()), " (outputs x inputs)"));
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

    /// n·m + n: the entries of W and b.
    Eigen::Index parameter_count() const { return m_weights.size() + m_bias.size(); }

    /// Calls f(W, "W") then f(b, "b"), in the order their gradients lie in a workspace.
    template <class F>
    void for_each_parameter(F&& f) {
        f(m_weights, "W");
        f(m_bias, "b");
    }
    /// Calls f(W, "W") then f(b, "b"), read-only.
    template <class F>
    void for_each_parameter(F&& f) const {
        f(m_weights, "W");
        f(m_bias, "b");
    }

    /// Fills W and b with `init` (an initializer of init.hpp, or a weight function), as layer
    /// `index` (zero-based) of its network.
    template <class Init>
    void initialize(const Init& init, std::size_t index, Rng& rng) {
        const InitContext context{index, detail::name_of_activation(m_activation),
                                  detail::is_rectifier(m_activation)};
        detail::apply_initializer(init, m_weights, m_bias, context, rng);
    }

    /// Sizes `state` for `batch` columns, its ∂C/∂W and ∂C/∂b at `gradients` (W's entries column
    /// by column, then b's).
    template <int Batch>
    void prepare(State<Batch>& state, Eigen::Index batch, Scalar* gradients) const {
        state.resize(inputs(), outputs(), batch, gradients);
    }

    /// z = W a + b, a = σ(z) on a batch; `input` is aˡ⁻¹ (inputs × batch), `state` prepared for
    /// its columns. Throws ShapeError when its rows do not match the layer.
    template <class Input, int Batch>
    EIGEN_ALWAYS_INLINE void forward(const Eigen::MatrixBase<Input>& input, State<Batch>& state,
                                     const Pass&) const {
        check_input_rows(input.rows());
        detail::affine(state.z, m_weights, input, m_bias);  // z = W a + b
        m_activation.forward(state.z, state.a);             // a = σ(z)
    }

    /// δ from ∂C/∂a (unless the loss gave it), then ∂C/∂W and ∂C/∂b, each the mean over the
    /// batch (§1.6), when how.store_gradients. `input` is aˡ⁻¹.
    template <class Input, int Batch>
    EIGEN_ALWAYS_INLINE void backward(const Eigen::MatrixBase<Input>& input, State<Batch>& state,
                                      const BackwardPass& how) const {
        if (!how.delta_given)
            m_activation.backward(state.z, state.a, state.da, state.delta);  // (1), (4): ⊙ σ'(z)
        if (!how.store_gradients)
            return;
        const Scalar inv_batch = Scalar(1) / Scalar(state.delta.cols());
        detail::product(state.dW, state.delta, input.transpose(), inv_batch);  // (3), (6): δ aᵀ
        detail::row_sum(state.db, state.delta, inv_batch);                     // (2), (5): δ
    }

    /// ∂C/∂aˡ⁻¹ = (Wˡ)ᵀδˡ (§2.4.2), the error handed to the layer below (or the input gradient).
    template <int Batch, class Below>
    EIGEN_ALWAYS_INLINE void propagate(const State<Batch>& state, Below&& da_below) const {
        detail::product(da_below, m_weights.transpose(), state.delta);  // Wᵀδ
    }

    /// True when the layer's neurons can be split between threads (forward_rows(), delta_rows(),
    /// propagate_rows()): σ acts on each entry alone (is_elementwise_v; Softmax does not).
    bool splits_rows() const {
        if constexpr (std::is_same_v<Activation, AnyActivation>)
            return m_activation.elementwise();
        else
            return is_elementwise_v<Activation>;
    }

    /// forward() for neurons [first, first + count) alone: zᵣ = Wᵣ a + bᵣ, aᵣ = σ(zᵣ), the
    /// rows r of W, b, z and a. DataParallel's split by neurons gives each thread its rows.
    /// `input` is column-major (or a single row).
    template <class Input, int Batch>
    void forward_rows(const Eigen::MatrixBase<Input>& input, State<Batch>& state,
                      Eigen::Index first, Eigen::Index count) const {
        detail::forward_rows(m_activation, detail::rows_view(m_weights.middleRows(first, count)),
                             detail::rows_view(m_bias.segment(first, count)),
                             detail::rows_view(input.derived()),
                             detail::rows_view(state.z.middleRows(first, count)),
                             detail::rows_view(state.a.middleRows(first, count)));
    }

    /// backward()'s δ = ∂C/∂a ⊙ σ'(z), equations (1) and (4), for neurons [first, first + count)
    /// alone; the gradients are left to descend_part().
    template <int Batch>
    void delta_rows(State<Batch>& state, Eigen::Index first, Eigen::Index count) const {
        const State<Batch>& read = state;
        detail::delta_rows(m_activation, detail::rows_view(read.z.middleRows(first, count)),
                           detail::rows_view(read.a.middleRows(first, count)),
                           detail::rows_view(read.da.middleRows(first, count)),
                           detail::rows_view(state.delta.middleRows(first, count)));
    }

    /// propagate() for rows [first, first + count) of ∂C/∂aˡ⁻¹ = Wᵀδ alone: neurons of the
    /// layer below, from the columns of W that multiply them.
    template <int Batch, class Below>
    void propagate_rows(const State<Batch>& state, Below&& da_below, Eigen::Index first,
                        Eigen::Index count) const {
        detail::propagate_rows(detail::rows_view(m_weights.middleCols(first, count)),
                               detail::rows_view(state.delta),
                               detail::rows_view(da_below.middleRows(first, count)));
    }

    /// True when train_step folds this layer's step into W (descend()) for `batch` samples of
    /// type `Input`: a layer whose ∂C/∂W product runs through GEMM. A small layer's ∂C/∂W is a
    /// few entries summed one by one; storing it costs nothing worth saving.
    template <class Input>
    bool folds_step(Eigen::Index batch) const {
        using InputT = decltype(std::declval<const Input&>().transpose());
        return !detail::takes_small_path<typename State<Eigen::Dynamic>::Activations, InputT>(
            outputs(), inputs(), batch);
    }

    /// True when DataParallel folds this layer's step into W in parts (descend_part()) for
    /// shards of `batch` samples: whenever train_step would fold it (folds_step()).
    template <class Input>
    bool folds_parts(Eigen::Index batch) const {
        return folds_step<Input>(batch);
    }

    /// True when descend() is known to add only finite increments to W and b, judged from the
    /// extents of δ and aˡ⁻¹ (detail/finite_step.hpp); false means "not known".
    template <class Input, int Batch>
    bool step_is_finite(const Eigen::MatrixBase<Input>& input, const State<Batch>& state,
                        Scalar learning_rate) const {
        return detail::step_is_finite(state.delta, input, learning_rate);
    }

    /// backward()'s gradients and one step of gradient descent in one product:
    /// W ← W − (η/n) δ aᵀ, b ← b − (η/n) Σδ, with δaᵀ added straight into W so that ∂C/∂W is
    /// neither stored nor read back. `input` is aˡ⁻¹. The caller has checked that the step is
    /// finite (detail::step_is_finite); nothing here can refuse it once W has begun to change.
    template <class Input, int Batch>
    void descend(const Eigen::MatrixBase<Input>& input, const State<Batch>& state,
                 Scalar learning_rate) {
        const Scalar step = learning_rate / Scalar(state.delta.cols());
        detail::product(m_weights, state.delta, input.transpose(), -step, true);  // (3), (6) in W
        detail::row_sum(m_bias, state.delta, -step, true);                        // (2), (5) in b
    }

    /// Part `part` of `parts` of descend(), with the step size η/n given: W ← W − (η/n) δ aᵀ
    /// on the columns of W from cut(part) to cut(part + 1), and b with part 0. DataParallel's
    /// threads each fold every shard's δ and aˡ⁻¹ into their own part, so that the batch's
    /// ∂C/∂W is never stored, summed or read back. Whole columns, because they are whole
    /// stretches of memory: cut by rows, two cores writing the two halves of each column ran no
    /// faster than one (the cores' prefetchers fetch into each other's half). Cuts fall on
    /// multiples of 16 columns, whole cache lines for any layer size.
    template <class Input, int Batch>
    void descend_part(const Eigen::MatrixBase<Input>& input, const State<Batch>& state,
                      Scalar step, int part, int parts) {
        const auto cut = [&](int p) {
            return p == parts ? inputs() : inputs() * p / parts / 16 * 16;
        };
        const Eigen::Index first = cut(part);
        const Eigen::Index count = cut(part + 1) - first;
        if (count > 0) {
            detail::product(m_weights.middleCols(first, count), state.delta,
                            input.middleRows(first, count).transpose(), -step, true);
        }
        if (part == 0)
            detail::row_sum(m_bias, state.delta, -step, true);
    }

    /// "Dense layer 2" (or "Dense layer" when the layer is not in a network), for messages.
    std::string name() const {
        return m_number > 0 ? detail::cat("Dense layer ", m_number) : std::string("Dense layer");
    }

private:
    static std::string size_name(int size) {
        return size == Eigen::Dynamic ? std::string("any size") : detail::cat(size);
    }

    void check_input_rows(Eigen::Index rows) const {
        if (rows != inputs()) {
            throw ShapeError(
                detail::cat(name(), ": input has ", rows, " rows, the layer expects ", inputs()));
        }
    }

    Weights m_weights;
    Bias m_bias;
    Activation m_activation{};
    int m_number = 0;
};

}  // namespace nabla
