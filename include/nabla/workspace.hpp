#pragma once

// Workspaces: everything a pass over one batch computes, owned by the caller. A network stays
// const while it predicts, so several threads can share it, each with its own workspace; buffers
// are sized on the first batch of a given size and reused, so later passes allocate nothing.

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/layer_state.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <vector>

namespace nabla {

template <class Net>
class DataParallel;

namespace detail {

template <class Derived, class Scalar>
class NetworkBase;

/// What both workspaces share: a⁰ = x and the input gradient ∂C/∂x.
template <class Scalar, int Inputs, int Batch>
class WorkspaceBase {
public:
    /// inputs × batch.
    using Input = Eigen::Matrix<Scalar, Inputs, Batch>;
    /// The batch size fixed at compile time, or Eigen::Dynamic.
    static constexpr int BatchAtCompileTime = Batch;

    /// a⁰ = x, the batch the last pass ran on.
    const Input& input() const { return m_input; }
    /// a⁰, to fill with a batch before Network::run_forward / run_backward.
    Input& input() { return m_input; }
    /// ∂C/∂x = (W¹)ᵀδ¹, valid after Network::input_gradient().
    const Input& input_gradient() const { return m_input_gradient; }
    /// The number of samples (columns) the buffers are sized for.
    Eigen::Index batch_size() const { return m_input.cols(); }
    /// True after a backward pass, until the next forward pass or prepare().
    bool has_gradients() const { return m_has_gradients; }

protected:
    void check_batch(Eigen::Index batch) const {
        if (Batch != Eigen::Dynamic && batch != Batch) {
            throw ShapeError(cat("the workspace holds a fixed batch of ", samples(Batch),
                                 ", the input has ", samples(batch)));
        }
    }

    Input m_input;
    Input m_input_gradient;
    bool m_has_gradients = false;

    template <class Derived, class Scalar_>
    friend class NetworkBase;
    template <class Net>
    friend class nabla::DataParallel;
};

/// Sizes the state of each layer of `net` for `batch` columns.
template <class Net, class Workspace>
void resize_layer_states(const Net& net, Workspace& ws, Eigen::Index batch) {
    net.for_each_layer([&](const auto& layer, auto i) {
        ws.layer(i).resize(layer.inputs(), layer.outputs(), batch);
    });
}

}  // namespace detail

/// The workspace of a Network<Loss, Layers...>: a⁰ and one LayerState per layer, in a tuple so
/// every buffer keeps its compile-time size. With fixed layer sizes and a fixed `Batch` it lives
/// wholly on the stack. Usually named as `Net::Workspace<Batch>`.
template <int Batch, class... Layers>
class Workspace
    : public detail::WorkspaceBase<
          typename std::tuple_element_t<0, std::tuple<Layers...>>::Scalar,
          std::tuple_element_t<0, std::tuple<Layers...>>::InputsAtCompileTime, Batch> {
public:
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
    const auto& output() const { return std::get<sizeof...(Layers) - 1>(m_layers).a; }

    /// aˡ⁻¹, the input of layer I: a⁰ = x for the first layer.
    template <std::size_t I>
    const auto& input_of(std::integral_constant<std::size_t, I>) const {
        if constexpr (I == 0)
            return this->m_input;
        else
            return std::get<I - 1>(m_layers).a;
    }

    /// Where layer I writes (Wˡ)ᵀδˡ: ∂C/∂a of the layer below, or ∂C/∂x for the first layer.
    template <std::size_t I>
    auto& da_below(std::integral_constant<std::size_t, I>) {
        if constexpr (I == 0)
            return this->m_input_gradient;
        else
            return std::get<I - 1>(m_layers).da;
    }

    /// True when every ∂C/∂W and ∂C/∂b is finite.
    bool gradients_finite() const {
        return std::apply([](const auto&... s) { return (s.gradients_finite() && ...); },
                          m_layers);
    }

    /// Sizes every buffer for `batch` columns of `net`; allocates only when a size changes.
    template <class Net>
    void prepare(const Net& net, Eigen::Index batch) {
        this->check_batch(batch);
        this->m_has_gradients = false;
        this->m_input.resize(net.inputs(), batch);
        detail::resize_layer_states(net, *this, batch);
    }

private:
    std::tuple<typename Layers::template State<Batch>...> m_layers;
};

/// The workspace of a DynamicNetwork: a⁰ and one LayerState per layer, in a vector because the
/// number of layers is known at run time only. Usually named as `Net::Workspace<Batch>`.
template <class Scalar, int Batch = Eigen::Dynamic>
class DynamicWorkspace : public detail::WorkspaceBase<Scalar, Eigen::Dynamic, Batch> {
public:
    /// The buffers of one layer.
    using State = LayerState<Scalar, Eigen::Dynamic, Eigen::Dynamic, Batch>;

    /// The buffers of layer i (zero-based: layer(0) holds z¹, a¹, δ¹, ∂C/∂W¹ of the notes).
    State& layer(std::size_t i) { return m_layers.at(i); }
    /// The buffers of layer i, read-only.
    const State& layer(std::size_t i) const { return m_layers.at(i); }

    /// aᴸ, the output of the last pass: outputs × batch.
    const typename State::Activations& output() const { return m_layers.back().a; }

    /// aˡ⁻¹, the input of layer i: a⁰ = x for the first layer.
    const typename State::Activations& input_of(std::size_t i) const {
        return i == 0 ? this->m_input : m_layers[i - 1].a;
    }

    /// Where layer i writes (Wˡ)ᵀδˡ: ∂C/∂a of the layer below, or ∂C/∂x for the first layer.
    typename State::Activations& da_below(std::size_t i) {
        return i == 0 ? this->m_input_gradient : m_layers[i - 1].da;
    }

    /// True when every ∂C/∂W and ∂C/∂b is finite.
    bool gradients_finite() const {
        for (const State& s : m_layers)
            if (!s.gradients_finite()) return false;
        return true;
    }

    /// Sizes every buffer for `batch` columns of `net`; allocates only when a size changes.
    template <class Net>
    void prepare(const Net& net, Eigen::Index batch) {
        this->check_batch(batch);
        this->m_has_gradients = false;
        this->m_input.resize(net.inputs(), batch);
        m_layers.resize(net.layer_count());
        detail::resize_layer_states(net, *this, batch);
    }

private:
    std::vector<State> m_layers;
};

}  // namespace nabla
