#pragma once

// The one place where a layer's matrix products are computed. A layer writes each equation of
// the notes as one call, `product(z, W, a)` for z = W a, and never decides how the product runs:
// that choice is made here, from the sizes alone.
//
// - A product whose rows, columns and inner size add up to less than detail::small_product_limit
//   is summed entry by entry (detail/small.hpp), z = W a + b in one pass from b: for the [2,3,2]
//   network of the notes, Eigen's run-time dispatch costs several times the few multiply-adds.
// - Every other product goes to detail::gemm: Eigen's GEMM kernel with packing buffers that are
//   reused, so a training step allocates nothing.
//
// Which path runs depends on the sizes, never on whether they are fixed at compile time, so a
// layer with compile-time sizes and one with the same sizes at run time give the same bits.

#include <nabla/detail/gemm.hpp>
#include <nabla/detail/small.hpp>

#include <Eigen/Core>
#include <type_traits>

namespace nabla::detail {

/// True when both operands can be read entry by entry where they lie (matrices, maps, blocks and
/// transposes of them). Any other expression goes to gemm, which evaluates it once.
template <class Lhs, class Rhs>
constexpr bool both_read_memory() {
    return reads_memory<Lhs>() && reads_memory<Rhs>();
}

/// True when dst = lhs·rhs, of these sizes and operand types, is summed entry by entry.
template <class Lhs, class Rhs>
constexpr bool takes_small_path(Eigen::Index rows, Eigen::Index cols, Eigen::Index depth) {
    return both_read_memory<Lhs, Rhs>() && is_small_product(rows, cols, depth);
}

/// dst = α·lhs·rhs, or dst += α·lhs·rhs when `accumulate`: entry by entry for a small product,
/// detail::gemm otherwise (see the top of this file). A resizable dst is resized when not
/// accumulating; a map must have the shape already. As with noalias(), dst must not overlap
/// lhs or rhs.
///
///     product(z, W, a);                                   // z = W a
///     product(dW, delta, a.transpose(), Scalar(1) / n);   // ∂C/∂W = δ aᵀ / n
///     product(W, delta, a.transpose(), -eta / n, true);   // W ← W − (η/n) δ aᵀ
template <class Dst, class Lhs, class Rhs>
EIGEN_ALWAYS_INLINE void product(Dst&& dst, const Eigen::MatrixBase<Lhs>& lhs,
                                 const Eigen::MatrixBase<Rhs>& rhs,
                                 typename std::decay_t<Dst>::Scalar alpha = 1,
                                 bool accumulate = false) {
    using D = std::decay_t<Dst>;
    const Eigen::Index rows = lhs.rows();
    const Eigen::Index cols = rhs.cols();
    if constexpr (std::is_base_of_v<Eigen::PlainObjectBase<D>, D>) {
        if (!accumulate)
            fit_shape(dst, rows, cols);
    }
    if (takes_small_path<Lhs, Rhs>(rows, cols, lhs.cols())) {
        small_product(dst, lhs.derived(), rhs.derived(), alpha, accumulate);
        return;
    }
    gemm(dst, lhs, rhs, alpha, accumulate);
}

/// p ← p − η·g, the notes' step of gradient descent on one parameter block. A small block goes
/// entry by entry, inlined: for the [2,3,2] network, Eigen's out-of-line assignment loop and
/// the expression it is handed cost more than the six multiply-adds.
template <class P, class G>
EIGEN_ALWAYS_INLINE void subtract_scaled(Eigen::MatrixBase<P>& p, typename P::Scalar eta,
                                         const Eigen::MatrixBase<G>& g) {
    if (is_small_map(p.rows(), p.cols())) {
        for (Eigen::Index k = 0; k < p.size(); ++k)
            p.coeffRef(k) = multiply_add(-eta, g.coeff(k), p.coeff(k));
    } else {
        p -= eta * g;
    }
}

/// z = W a + b, the bias added to each column: for a small product, each entry summed from bᵢ
/// in one pass (small_affine); otherwise z = W a by product() and b added column by column.
template <class Z, class W, class A, class B>
EIGEN_ALWAYS_INLINE void affine(Z&& z, const Eigen::MatrixBase<W>& w, const Eigen::MatrixBase<A>& a,
                                const Eigen::MatrixBase<B>& b) {
    if (takes_small_path<W, A>(w.rows(), a.cols(), w.cols())) {
        fit_shape(z, w.rows(), a.cols());
        small_affine(z, w.derived(), a.derived(), b.derived());
        return;
    }
    product(z, w, a);
    z.colwise() += b;
}

/// dst = α·(the sum of each row of m), or dst += that when `accumulate`: Σⱼ δ(:, j), the bias
/// gradient, as a product of δ with a column of ones. Entry by entry for a small m (the same loop
/// for compile-time and run-time sizes), Eigen's vectorised reduction otherwise.
template <class Dst, class M>
EIGEN_ALWAYS_INLINE void row_sum(Dst&& dst, const Eigen::MatrixBase<M>& m,
                                 typename std::decay_t<Dst>::Scalar alpha = 1,
                                 bool accumulate = false) {
    using D = std::decay_t<Dst>;
    if constexpr (std::is_base_of_v<Eigen::PlainObjectBase<D>, D>) {
        if (!accumulate)
            fit_shape(dst, m.rows(), 1);
    }
    if (reads_memory<M>() && is_small_map(m.rows(), m.cols())) {
        small_row_sum(dst, m.derived(), alpha, accumulate);
    } else if (accumulate) {
        dst.noalias() += alpha * m.rowwise().sum();
    } else {
        dst.noalias() = alpha * m.rowwise().sum();
    }
}

}  // namespace nabla::detail
