#pragma once

// The per-parameter state every optimizer keeps (moments, velocities): arrays as long as the
// network's parameter list, laid out as the gradient array is (parameters.hpp), so the state of
// a parameter block sits at the block's offset. Indexed by place in the list, never by address,
// so a copied or moved network keeps working with its optimizer.

#include <nabla/io/detail/state_bytes.hpp>
#include <nabla/parameters.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace nabla::detail {

/// `per_parameter` arrays of the length of a network's parameter list, zero at the start. Sized
/// on the first step; a later step on a network whose parameter count or block sizes (or scalar
/// type) differ makes them again, zero, and reports it, so the optimizer starts afresh. Networks
/// of the same layout are not told apart: call reset() before stepping another one. Float and
/// double networks are supported.
class OptimizerState {
public:
    /// One state array of a float or double network.
    template <class Scalar>
    using Array = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

    /// Makes the arrays fit `net` with `per_parameter` arrays. Returns true when they were made
    /// afresh (all zero): the first step, after clear(), or after the network changed layout.
    /// Allocates nothing when they already fit.
    template <class Net>
    bool fit(const Net& net, int per_parameter) {
        using Scalar = typename Net::Scalar;
        if (fits(net, per_parameter)) return false;
        clear();
        std::vector<Array<Scalar>>& arrays = storage<Scalar>();
        arrays.resize(static_cast<std::size_t>(per_parameter));
        for (Array<Scalar>& array : arrays) array.setZero(net.parameter_count());
        for_each_parameter(net, [&](const auto& block, const ParameterInfo&) {
            m_layout.push_back(block.size());
        });
        return true;
    }

    /// Array k's part for the parameter block `block` at `info`, shaped like the block (fit()
    /// first).
    template <class Block>
    auto of(int k, const Block& block, const ParameterInfo& info) {
        using Plain = PlainOf<Block>;
        Array<typename Plain::Scalar>& array = storage<typename Plain::Scalar>()[std::size_t(k)];
        return Eigen::Map<Plain>(array.data() + info.offset, block.rows(), block.cols());
    }

    /// Forgets every array; the next fit() makes them again, zero.
    void clear() {
        m_float.clear();
        m_double.clear();
        m_layout.clear();
    }

    /// The largest |entry| of array k of a `Scalar` network (NaN if one is NaN); 0 when there is
    /// no such array.
    template <class Scalar>
    double extent(int k) const {
        const std::vector<Array<Scalar>>& arrays =
            const_cast<OptimizerState*>(this)->storage<Scalar>();
        if (std::size_t(k) >= arrays.size() || arrays[std::size_t(k)].size() == 0) return 0;
        return double(arrays[std::size_t(k)].cwiseAbs().template maxCoeff<Eigen::PropagateNaN>());
    }

    /// Writes every array and the layout, for a checkpoint.
    void write(StateWriter& out) const {
        write_arrays(out, m_float);
        write_arrays(out, m_double);
        out.u64(m_layout.size());
        for (Eigen::Index size : m_layout) out.i64(size);
    }

    /// Reads what write() wrote; throws FileError when the bytes end early.
    void read(StateReader& in) {
        clear();
        read_arrays(in, m_float);
        read_arrays(in, m_double);
        const std::uint64_t blocks = in.u64();
        for (std::uint64_t k = 0; k < blocks; ++k) {
            if (in.done()) in.fail("the checkpoint ends inside the optimizer's layout");
            m_layout.push_back(Eigen::Index(in.i64()));
        }
    }

    /// True when every entry of every array is finite.
    bool finite() const { return all_finite_in(m_float) && all_finite_in(m_double); }

    /// True before the first fit() and after clear().
    bool empty() const { return m_float.empty() && m_double.empty(); }

private:
    template <class Scalar>
    static void write_arrays(StateWriter& out, const std::vector<Array<Scalar>>& arrays) {
        out.u64(arrays.size());
        for (const Array<Scalar>& array : arrays) out.array(array);
    }

    template <class Scalar>
    static void read_arrays(StateReader& in, std::vector<Array<Scalar>>& arrays) {
        const std::uint64_t count = in.u64();
        if (count > 16) in.fail("the optimizer holds more state arrays than any optimizer keeps");
        arrays.resize(std::size_t(count));
        for (Array<Scalar>& array : arrays) in.any_array(array, "an optimizer state array");
    }

    template <class Scalar>
    static bool all_finite_in(const std::vector<Array<Scalar>>& arrays) {
        for (const Array<Scalar>& array : arrays)
            if (!array.allFinite()) return false;
        return true;
    }

    template <class Scalar>
    std::vector<Array<Scalar>>& storage() {
        static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                      "NABLA_OPTIMIZERS_SUPPORT_FLOAT_AND_DOUBLE_NETWORKS");
        if constexpr (std::is_same_v<Scalar, float>)
            return m_float;
        else
            return m_double;
    }

    template <class Net>
    bool fits(const Net& net, int per_parameter) {
        using Scalar = typename Net::Scalar;
        const std::vector<Array<Scalar>>& arrays = storage<Scalar>();
        if (arrays.size() != static_cast<std::size_t>(per_parameter) || arrays.empty() ||
            m_float.size() + m_double.size() != arrays.size() ||
            arrays.front().size() != net.parameter_count()) {
            return false;
        }
        std::size_t block = 0;
        bool same = true;
        for_each_parameter(net, [&](const auto& p, const ParameterInfo&) {
            same = same && block < m_layout.size() && m_layout[block] == p.size();
            ++block;
        });
        return same && block == m_layout.size();
    }

    std::vector<Array<float>> m_float;
    std::vector<Array<double>> m_double;
    std::vector<Eigen::Index> m_layout;  // the sizes of the blocks, in order
};

}  // namespace nabla::detail
