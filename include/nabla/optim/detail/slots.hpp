#pragma once

// The per-parameter state every optimizer shares (moments, velocities), indexed by parameter
// slot, never by address, so a copied or moved network keeps working with its optimizer; and
// the walk over a network's parameters with their gradients, slot by slot.

#include <nabla/layer.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <type_traits>
#include <vector>

namespace nabla::detail {

/// The slot of Wˡ⁺¹ for the zero-based layer index l; its b comes next.
constexpr std::size_t weight_slot(std::size_t layer) { return 2 * layer; }
/// The slot of bˡ⁺¹ for the zero-based layer index l.
constexpr std::size_t bias_slot(std::size_t layer) { return 2 * layer + 1; }

/// Calls f(parameter, gradient, slot) for W then b of each layer, input side first: parameter is
/// the layer's own W or b (written in place), gradient the ∂C/∂W or ∂C/∂b that backward() left
/// in `ws`.
template <class Net, class Workspace, class F>
void for_each_parameter(Net& net, const Workspace& ws, F&& f) {
    net.for_each_layer([&](auto& layer, auto i) {
        const std::size_t l = static_cast<std::size_t>(i);
        const auto& state = ws.layer(i);
        f(LayerAccess::weights(layer), state.dW, weight_slot(l));
        f(LayerAccess::bias(layer), state.db, bias_slot(l));
    });
}

/// The state an optimizer keeps per parameter: `per_slot` matrices for each slot, each shaped
/// like its parameter and zero at the start. Sized on the first step; a later step on a network
/// whose layer count or shapes (or scalar type) differ makes them again, zero, and reports it,
/// so the optimizer starts afresh. Same shapes are not told apart: call reset() before stepping
/// another network of the same shapes. Float and double networks are supported.
class SlotBuffers {
public:
    /// A state matrix of a float or double network.
    template <class Scalar>
    using Buffer = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

    /// Makes the buffers fit `net` with `per_slot` matrices per slot. Returns true when they were
    /// made afresh (all zero): the first step, after clear(), or after the network changed shape.
    /// Allocates nothing when they already fit.
    template <class Net>
    bool fit(const Net& net, int per_slot) {
        using Scalar = typename Net::Scalar;
        if (fits(net, per_slot)) return false;
        clear();
        std::vector<Buffer<Scalar>>& buffers = storage<Scalar>();
        const std::size_t count = static_cast<std::size_t>(per_slot);
        buffers.resize(2 * net.layer_count() * count);
        net.for_each_layer([&](const auto& layer, auto i) {
            const std::size_t l = static_cast<std::size_t>(i);
            for (std::size_t k = 0; k < count; ++k) {
                buffers[weight_slot(l) * count + k].setZero(layer.outputs(), layer.inputs());
                buffers[bias_slot(l) * count + k].setZero(layer.outputs(), 1);
            }
        });
        m_per_slot = per_slot;
        return true;
    }

    /// Matrix k (0 ≤ k < per_slot) of `slot`, for a network of this Scalar; fit() first.
    template <class Scalar>
    Buffer<Scalar>& buffer(std::size_t slot, int k) {
        return storage<Scalar>()[slot * static_cast<std::size_t>(m_per_slot) +
                                 static_cast<std::size_t>(k)];
    }

    /// Forgets every buffer; the next fit() makes them again, zero.
    void clear() {
        m_float.clear();
        m_double.clear();
        m_per_slot = 0;
    }

    /// True before the first fit() and after clear().
    bool empty() const { return m_float.empty() && m_double.empty(); }

private:
    template <class Scalar>
    std::vector<Buffer<Scalar>>& storage() {
        static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                      "NABLA_OPTIMIZERS_SUPPORT_FLOAT_AND_DOUBLE_NETWORKS");
        if constexpr (std::is_same_v<Scalar, float>)
            return m_float;
        else
            return m_double;
    }

    template <class Net>
    bool fits(const Net& net, int per_slot) {
        using Scalar = typename Net::Scalar;
        const std::vector<Buffer<Scalar>>& buffers = storage<Scalar>();
        const std::size_t count = static_cast<std::size_t>(per_slot);
        if (per_slot != m_per_slot || buffers.size() != 2 * net.layer_count() * count ||
            m_float.size() + m_double.size() != buffers.size()) {
            return false;
        }
        bool same = true;
        net.for_each_layer([&](const auto& layer, auto i) {
            const std::size_t l = static_cast<std::size_t>(i);
            for (std::size_t k = 0; k < count; ++k) {
                const Buffer<Scalar>& w = buffers[weight_slot(l) * count + k];
                const Buffer<Scalar>& b = buffers[bias_slot(l) * count + k];
                same = same && w.rows() == layer.outputs() && w.cols() == layer.inputs() &&
                       b.rows() == layer.outputs();
            }
        });
        return same;
    }

    std::vector<Buffer<float>> m_float;
    std::vector<Buffer<double>> m_double;
    int m_per_slot = 0;
};

}  // namespace nabla::detail
