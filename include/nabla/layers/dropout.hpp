#pragma once

#include <nabla/attributes.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/layer.hpp>
#include <nabla/random.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

namespace nabla {

/// What a Dropout layer keeps for one batch: its output, the gradient handed back to it, and the
/// mask of the last training pass (1/(1 − p) where a unit was kept, 0 where it was dropped).
template <class Scalar, int Size, int Batch>
struct DropoutState : LayerBuffers<Scalar, Size, Batch> {
    /// size × batch.
    using Activations = Eigen::Matrix<Scalar, Size, Batch>;

    Activations mask;  ///< The scaled keep-mask of the last training pass.

    /// Sizes a, ∂C/∂a and the mask for `size` × `batch`.
    void resize(Eigen::Index size, Eigen::Index batch) {
        this->resize_buffers(size, batch);
        if (mask.rows() != size || mask.cols() != batch) mask.resize(size, batch);
    }
};

/// Inverted dropout (Srivastava et al.): while training, each unit of each sample is kept with
/// probability 1 − p and scaled by 1/(1 − p), or set to 0, so that the expected output is the
/// input; when predicting, it is the identity. The masks are drawn from the generator of the
/// workspace that runs the pass (Workspace::seed(); fit() seeds it from its options), so one
/// seed gives one training run bit for bit. A layer of `Size` units (or Eigen::Dynamic) with no
/// parameters; its rate p is saved with the model.
///
///     nabla::Network<nabla::CrossEntropy, nabla::Dense<float, 784, 256, nabla::ReLU>,
///                    nabla::Dropout<float, 256>, nabla::Dense<float, 256, 10, nabla::Softmax>>
///         net(std::make_tuple(nabla::Dense<float, 784, 256, nabla::ReLU>(784, 256),
///                             nabla::Dropout<float, 256>(256, 0.2),
///                             nabla::Dense<float, 256, 10, nabla::Softmax>(256, 10)));
template <class Scalar_, int Size = Eigen::Dynamic>
class Dropout {
    static_assert(Size == Eigen::Dynamic || Size > 0, "NABLA_LAYER_OUTPUTS_MUST_BE_POSITIVE");

public:
    using Scalar = Scalar_;                               ///< float or double.
    static constexpr int InputsAtCompileTime = Size;      ///< As many outputs as inputs.
    static constexpr int OutputsAtCompileTime = Size;     ///< As many outputs as inputs.
    static constexpr int ParametersAtCompileTime = 0;     ///< None.
    /// The buffers of this layer for a batch of `Batch` columns.
    template <int Batch>
    using State = DropoutState<Scalar, Size, Batch>;

    /// "Dropout", as messages and model files name the layer type.
    static constexpr const char* type_name() { return "Dropout"; }

    /// A layer of `size` units that drops each with probability `rate`, 0 ≤ rate < 1. Throws
    /// ShapeError for a size below 1 (or other than a fixed Size), ConfigError for a rate out of
    /// range.
    Dropout(Eigen::Index size, double rate) : m_size(size), m_rate(rate) {
        if (size < 1 || (Size != Eigen::Dynamic && size != Size)) {
            throw ShapeError(detail::cat("Dropout layer: asked for ", size, " units, the type "
                                         "allows ",
                                         Size == Eigen::Dynamic ? std::string("any number")
                                                                : detail::cat(Size)));
        }
        if (!(rate >= 0 && rate < 1)) {
            throw ConfigError(detail::cat("Dropout layer: the rate must be in [0, 1), got ",
                                          rate));
        }
        m_keep = Scalar(1 - rate);
        // A unit is kept when 32 random bits fall at or above p·2³², so that p = 0 keeps all.
        m_threshold = std::uint32_t(std::floor(rate * 4294967296.0));
    }

    /// Not a layer of `inputs` → `outputs` neurons: a Dropout layer is built from its size and
    /// rate (Network's constructor from sizes would otherwise pass the size as a rate).
    Dropout(Eigen::Index, Eigen::Index) = delete;

    /// The units, as inputs.
    Eigen::Index inputs() const { return m_size; }
    /// The units, as outputs.
    Eigen::Index outputs() const { return m_size; }
    /// p, the probability that a unit is dropped while training.
    double rate() const { return m_rate; }
    /// 0: the layer learns nothing.
    Eigen::Index parameter_count() const { return 0; }
    /// Calls f for no block: the layer has no parameters.
    template <class F>
    void for_each_parameter(F&&) const {}

    /// {"rate": p}, what a model file keeps.
    void write_attributes(Attributes& out) const { out.set("rate", m_rate); }
    /// The layer a model file describes: `spec.outputs` units, the rate it gives.
    static Dropout from_spec(const LayerSpec& spec) {
        return Dropout(spec.outputs, spec.attributes.get("rate", "Dropout"));
    }

    /// Sizes `state` for `batch` columns.
    template <int Batch>
    void prepare(State<Batch>& state, Eigen::Index batch, Scalar*) const {
        state.resize(m_size, batch);
    }

    /// Training: a = x ⊙ mask with a new mask drawn from pass.rng; replay: the last mask again;
    /// predicting: a = x.
    template <class Input, int Batch>
    void forward(const Eigen::MatrixBase<Input>& input, State<Batch>& state,
                 const Pass& pass) const {
        check_input_rows(input.rows());
        if (pass.kind == PassKind::train) draw_mask(state.mask, *pass.rng);
        if (pass.training())
            state.a = input.cwiseProduct(state.mask);  // a = x ⊙ m/(1 − p)
        else
            state.a = input;
    }

    /// Nothing to compute: no parameters, no activation.
    template <class Input, int Batch>
    void backward(const Eigen::MatrixBase<Input>&, State<Batch>&, const BackwardPass&) const {}

    /// ∂C/∂x = ∂C/∂a ⊙ mask: a dropped unit passes no gradient back.
    template <int Batch, class Below>
    void propagate(const State<Batch>& state, Below&& da_below) const {
        da_below = state.da.cwiseProduct(state.mask);
    }

    /// "Dropout layer 2" (or "Dropout layer" when the layer is not in a network), for messages.
    std::string name() const {
        return m_number > 0 ? detail::cat("Dropout layer ", m_number)
                            : std::string("Dropout layer");
    }
    /// Sets the place in a network that messages name; networks call it.
    void set_number(int number) { m_number = number; }

private:
    template <class Mask>
    void draw_mask(Mask& mask, Rng& rng) const {
        const Scalar scale = Scalar(1) / m_keep;
        Scalar* entry = mask.data();
        const Eigen::Index size = mask.size();
        Eigen::Index k = 0;
        for (; k + 1 < size; k += 2) {  // two draws from each 64 random bits
            const std::uint64_t bits = rng.next();
            entry[k] = std::uint32_t(bits) >= m_threshold ? scale : Scalar(0);
            entry[k + 1] = std::uint32_t(bits >> 32) >= m_threshold ? scale : Scalar(0);
        }
        if (k < size) entry[k] = std::uint32_t(rng.next()) >= m_threshold ? scale : Scalar(0);
    }

    void check_input_rows(Eigen::Index rows) const {
        if (rows != m_size) {
            throw ShapeError(detail::cat(name(), ": input has ", rows, " rows, the layer expects ",
                                         m_size));
        }
    }

    Eigen::Index m_size;
    double m_rate;
    Scalar m_keep = 1;
    std::uint32_t m_threshold = 0;
    int m_number = 0;
};

}  // namespace nabla
