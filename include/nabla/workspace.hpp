#pragma once

// Workspaces: everything a pass over one batch computes, owned by the caller. A network stays
// const while it predicts, so several threads can share it, each with its own workspace; buffers
// are sized on the first batch of a given size and reused, so later passes allocate nothing.
//
// Every parameter gradient of the network lies in one contiguous array, layer by layer, each
// layer's blocks in the order of its for_each_parameter() (Dense: ∂C/∂W column by column, then
// ∂C/∂b). The layers' states hold views of their part of it. So the gradient is one vector to an
// optimizer, a norm, a reduction across threads or an allreduce across machines.

#include <nabla/detail/all_finite.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/layer.hpp>
#include <nabla/any_layer.hpp>
#include <nabla/random.hpp>

#include <Eigen/Core>
#include <array>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace nabla {

namespace detail {

/// The default seed of a workspace's generator, so that an unseeded workspace is reproducible.
inline constexpr std::uint64_t default_workspace_seed = 0x6E61626C61ULL;  // "nabla"

/// What a workspace knows of each layer it was prepared for: enough to refuse gradients of
/// another network's shape with a message that says which layer and which shapes.
struct LayerRecord {
    Eigen::Index inputs = 0;      ///< m of the layer the state was sized for.
    Eigen::Index outputs = 0;     ///< n of that layer.
    Eigen::Index offset = 0;      ///< Where its gradients start in the contiguous array.
    Eigen::Index parameters = 0;  ///< How many gradient entries it has there.
};

/// The sum of the layers' ParametersAtCompileTime, or Eigen::Dynamic when one is not fixed.
template <class... Layers>
constexpr int total_parameters() {
    int total = 0;
    for (int count : {int(Layers::ParametersAtCompileTime)...}) {
        if (count == Eigen::Dynamic) return Eigen::Dynamic;
        total += count;
    }
    return total;
}

/// What both workspaces share: a⁰ = x, the input gradient ∂C/∂x, the contiguous gradient array,
/// and the generator that training passes draw from (dropout masks).
template <class Scalar, int Inputs, int Batch, int Parameters>
class WorkspaceBase {
public:
    /// inputs × batch.
    using Input = Eigen::Matrix<Scalar, Inputs, Batch>;
    /// Every parameter gradient of the network, one after another.
    using GradientVector = Eigen::Matrix<Scalar, Parameters, 1>;
    /// The batch size fixed at compile time, or Eigen::Dynamic.
    static constexpr int BatchAtCompileTime = Batch;

    /// a⁰ = x, the batch the last pass ran on.
    const Input& input() const { return m_input; }
    /// a⁰, to fill with a batch before Network::run_forward / run_backward.
    Input& input() { return m_input; }
    /// ∂C/∂x = (W¹)ᵀδ¹, valid after Network::input_gradient().
    const Input& input_gradient() const { return m_input_gradient; }
    /// Sizes ∂C/∂x like x, for Network::input_gradient() to write.
    void size_input_gradient() { m_input_gradient.resize(m_input.rows(), m_input.cols()); }
    /// The number of samples (columns) the buffers are sized for.
    Eigen::Index batch_size() const { return m_input.cols(); }
    /// True after a backward pass, until the next forward pass or prepare().
    bool has_gradients() const { return m_has_gradients; }

    /// Every ∂C/∂W and ∂C/∂b of the last backward pass in one contiguous array, layer by layer
    /// (see the top of this file); the layers' dW and db are views of it.
    const GradientVector& gradient_vector() const { return m_gradients; }
    /// The contiguous gradient array, writable (a reduction across threads or machines writes
    /// the batch's gradient here).
    GradientVector& gradient_vector() { return m_gradients; }
    /// True when every entry of every ∂C/∂W and ∂C/∂b is finite.
    bool gradients_finite() const { return detail::all_finite(m_gradients); }

    /// Restarts the generator that training passes draw from (dropout masks): one seed, one
    /// sequence of masks. An unseeded workspace uses a fixed default seed.
    void seed(std::uint64_t seed) { m_rng = Rng(seed); }
    /// The generator of training passes.
    Rng& rng() { return m_rng; }
    /// The generator of training passes, to read its state.
    const Rng& rng() const { return m_rng; }

    /// Marks the gradient array as holding the gradients of the batch in input() (a
    /// reduction across threads or machines wrote it), or as stale.
    void set_has_gradients(bool has) { m_has_gradients = has; }

protected:
    /// Throws ShapeError when a workspace of a compile-time batch is given another batch size.
    void check_batch(Eigen::Index batch) const {
        if (Batch != Eigen::Dynamic && batch != Batch) {
            throw ShapeError(cat("the workspace holds a fixed batch of ", samples(Batch),
                                 ", the input has ", samples(batch)));
        }
    }

    /// Sizes a⁰ and the gradient array for `batch` columns of `net`.
    template <class Net>
    void prepare_base(const Net& net, Eigen::Index batch) {
        check_batch(batch);
        m_has_gradients = false;
        m_input.resize(net.inputs(), batch);
        const Eigen::Index parameters = net.parameter_count();
        if (m_gradients.size() != parameters) m_gradients.resize(parameters);
    }

    Input m_input;                      ///< a⁰ = x.
    Input m_input_gradient;             ///< ∂C/∂x, sized on demand.
    GradientVector m_gradients;         ///< Every ∂C/∂W and ∂C/∂b, layer by layer.
    bool m_has_gradients = false;       ///< m_gradients belongs to the batch in m_input.
    Rng m_rng{default_workspace_seed};  ///< Draws the dropout masks of training passes.
};

/// Prepares the state of each layer of `net` for `batch` columns, its gradients at their place
/// in `gradients`, and records the layer in `records`.
template <class Net, class Workspace, class Records>
void prepare_layer_states(const Net& net, Workspace& ws, Eigen::Index batch,
                          typename Net::Scalar* gradients, Records& records) {
    Eigen::Index offset = 0;
    net.for_each_layer([&](const auto& layer, auto i) {
        LayerRecord& record = records[static_cast<std::size_t>(i)];
        record = {layer.inputs(), layer.outputs(), offset, layer.parameter_count()};
        layer.prepare(ws.layer(i), batch, gradients + offset);
        offset += record.parameters;
    });
}

}  // namespace detail

/// The workspace of a Network<Loss, Layers...>: a⁰, the gradient array and one state per layer,
/// in a tuple so every buffer keeps its compile-time size. With fixed layer sizes and a fixed
/// `Batch` it lives wholly on the stack. Usually named as `Net::Workspace<Batch>`.
template <int Batch, class... Layers>
class Workspace
    : public detail::WorkspaceBase<
          typename std::tuple_element_t<0, std::tuple<Layers...>>::Scalar,
          std::tuple_element_t<0, std::tuple<Layers...>>::InputsAtCompileTime, Batch,
          detail::total_parameters<Layers...>()> {
    using Base = detail::WorkspaceBase<
        typename std::tuple_element_t<0, std::tuple<Layers...>>::Scalar,
        std::tuple_element_t<0, std::tuple<Layers...>>::InputsAtCompileTime, Batch,
        detail::total_parameters<Layers...>()>;
    static constexpr std::size_t count = sizeof...(Layers);

public:
    /// Unsized: a network's pass sizes it.
    Workspace() = default;
    /// A copy whose gradient views point at its own gradient array.
    Workspace(const Workspace& other)
        : Base(other), m_layers(other.m_layers), m_records(other.m_records) {
        bind();
    }
    /// As the copy; the gradient array moves.
    Workspace(Workspace&& other) noexcept
        : Base(std::move(other)), m_layers(std::move(other.m_layers)), m_records(other.m_records) {
        bind();
    }
    /// Copies every buffer and points the gradient views at this workspace's own array.
    Workspace& operator=(const Workspace& other) {
        Base::operator=(other);
        m_layers = other.m_layers;
        m_records = other.m_records;
        bind();
        return *this;
    }
    /// As the copy assignment.
    Workspace& operator=(Workspace&& other) noexcept {
        Base::operator=(std::move(other));
        m_layers = std::move(other.m_layers);
        m_records = other.m_records;
        bind();
        return *this;
    }

    /// The buffers of layer I (zero-based: layer<0>() holds z¹, a¹, δ¹, ∂C/∂W¹ of the notes).
    template <std::size_t I>
    auto& layer() { return std::get<I>(m_layers); }
    /// The buffers of layer I, read-only.
    template <std::size_t I>
    const auto& layer() const { return std::get<I>(m_layers); }
    /// layer<I>(), addressed by an index constant as Network::for_each_layer passes it.
    template <std::size_t I>
    auto& layer(std::integral_constant<std::size_t, I>) { return std::get<I>(m_layers); }
    /// layer<I>(), read-only.
    template <std::size_t I>
    const auto& layer(std::integral_constant<std::size_t, I>) const {
        return std::get<I>(m_layers);
    }

    /// aᴸ, the output of the last pass: outputs × batch.
    const auto& output() const { return std::get<count - 1>(m_layers).a; }

    /// aˡ⁻¹, the input of layer I: a⁰ = x for the first layer.
    template <std::size_t I>
    const auto& input_of(std::integral_constant<std::size_t, I>) const {
        if constexpr (I == 0)
            return this->m_input;
        else
            return std::get<I - 1>(m_layers).a;
    }

    /// Where layer I writes ∂C/∂aˡ⁻¹: ∂C/∂a of the layer below, or ∂C/∂x for the first layer.
    template <std::size_t I>
    auto& da_below(std::integral_constant<std::size_t, I>) {
        if constexpr (I == 0)
            return this->m_input_gradient;
        else
            return std::get<I - 1>(m_layers).da;
    }

    /// Sizes every buffer for `batch` columns of `net`; allocates only when a size changes.
    template <class Net>
    void prepare(const Net& net, Eigen::Index batch) {
        this->prepare_base(net, batch);
        detail::prepare_layer_states(net, *this, batch, this->m_gradients.data(), m_records);
    }

    /// What the workspace was prepared for, layer i (zero-based).
    const detail::LayerRecord& record(std::size_t i) const { return m_records[i]; }
    /// The number of layers of the network the workspace was last prepared for.
    std::size_t prepared_layers() const { return m_records.size(); }

private:
    void bind() {
        std::apply(
            [&](auto&... states) {
                std::size_t i = 0;
                (states.bind_gradients(this->m_gradients.data() + m_records[i++].offset), ...);
            },
            m_layers);
    }

    std::tuple<typename Layers::template State<Batch>...> m_layers;
    std::array<detail::LayerRecord, count> m_records{};
};

/// The workspace of a DynamicNetwork: a⁰, the gradient array and one state per layer, in a vector
/// because the number of layers is known at run time only; each state holds whatever its layer
/// type keeps (AnyLayerState). Usually named as `Net::Workspace<Batch>`.
template <class Scalar, int Batch = Eigen::Dynamic>
class DynamicWorkspace
    : public detail::WorkspaceBase<Scalar, Eigen::Dynamic, Batch, Eigen::Dynamic> {
    using Base = detail::WorkspaceBase<Scalar, Eigen::Dynamic, Batch, Eigen::Dynamic>;

public:
    /// The buffers of one layer.
    using State = AnyLayerState<Scalar>;
    /// A matrix of the network's scalar type.
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

    /// Unsized: a network's pass sizes it.
    DynamicWorkspace() = default;
    /// A copy whose gradient views point at its own gradient array.
    DynamicWorkspace(const DynamicWorkspace& other)
        : Base(other), m_layers(other.m_layers), m_records(other.m_records) {
        bind();
    }
    /// The buffers move, the gradient views with them.
    DynamicWorkspace(DynamicWorkspace&& other) noexcept
        : Base(std::move(other)),
          m_layers(std::move(other.m_layers)),
          m_records(std::move(other.m_records)) {
        bind();
    }
    /// Copies every buffer and points the gradient views at this workspace's own array.
    DynamicWorkspace& operator=(const DynamicWorkspace& other) {
        Base::operator=(other);
        m_layers = other.m_layers;
        m_records = other.m_records;
        bind();
        return *this;
    }
    /// The buffers move, the gradient views with them.
    DynamicWorkspace& operator=(DynamicWorkspace&& other) noexcept {
        Base::operator=(std::move(other));
        m_layers = std::move(other.m_layers);
        m_records = std::move(other.m_records);
        bind();
        return *this;
    }

    /// The buffers of layer i (zero-based: layer(0) holds z¹, a¹, δ¹, ∂C/∂W¹ of the notes).
    State& layer(std::size_t i) { return m_layers.at(i); }
    /// The buffers of layer i, read-only.
    const State& layer(std::size_t i) const { return m_layers.at(i); }

    /// aᴸ, the output of the last pass: outputs × batch.
    const Eigen::Map<Matrix>& output() const { return m_layers.back().a; }

    /// aˡ⁻¹, the input of layer i: a⁰ = x for the first layer.
    Eigen::Map<const Matrix> input_of(std::size_t i) const {
        if (i == 0) return {this->m_input.data(), this->m_input.rows(), this->m_input.cols()};
        const Eigen::Map<Matrix>& a = m_layers[i - 1].a;
        return {a.data(), a.rows(), a.cols()};
    }

    /// Where layer i writes ∂C/∂aˡ⁻¹: ∂C/∂a of the layer below, or ∂C/∂x for the first layer.
    Eigen::Map<Matrix> da_below(std::size_t i) {
        if (i == 0) {
            return {this->m_input_gradient.data(), this->m_input_gradient.rows(),
                    this->m_input_gradient.cols()};
        }
        return m_layers[i - 1].da;
    }

    /// Sizes every buffer for `batch` columns of `net`; allocates only when a size changes.
    template <class Net>
    void prepare(const Net& net, Eigen::Index batch) {
        this->prepare_base(net, batch);
        if (m_layers.size() != net.layer_count()) {
            m_layers.resize(net.layer_count());
            m_records.resize(net.layer_count());
        }
        detail::prepare_layer_states(net, *this, batch, this->m_gradients.data(), m_records);
    }

    /// What the workspace was prepared for, layer i (zero-based).
    const detail::LayerRecord& record(std::size_t i) const { return m_records[i]; }
    /// The number of layers of the network the workspace was last prepared for.
    std::size_t prepared_layers() const { return m_records.size(); }

private:
    void bind() {
        for (std::size_t i = 0; i < m_layers.size(); ++i)
            m_layers[i].bind_gradients(this->m_gradients.data() + m_records[i].offset);
    }

    std::vector<State> m_layers;
    std::vector<detail::LayerRecord> m_records;
};

}  // namespace nabla
