#pragma once

#include <nabla/detail/requires_cxx17.hpp>

// The arithmetic of layers too small for GEMM, such as the [2,3,2] network of the notes, written
// entry by entry.
//
// Why: with sizes known only at run time, Eigen decides on every product between GEMM, GEMV and
// its coefficient-based product, then sums each entry with a reduction whose length it learns at
// run time too; for a 3 × 2 weight matrix that machinery costs several times the six
// multiply-adds. Below small_product_limit the loops here run instead; from it on the products go
// to detail::gemm as before, so a large layer is computed exactly as it was.
//
// Which path a product takes depends on its sizes alone, never on whether they are fixed at
// compile time: a layer with compile-time sizes and one with the same sizes at run time run the
// same loops, in the same order, and give the same result bit for bit (with compile-time sizes
// the size test folds away and the loops unroll).
//
// Each inner loop of a product also stops at small_product_limit, which it never reaches (every
// size here is below it). That second bound tells GCC the trip count is small, so it does not
// vectorise a loop that runs one to three times here behind a set-up that costs more than the
// loop.

#include <Eigen/Core>
#include <cmath>
#include <type_traits>

namespace nabla::detail {

/// A product whose rows, columns and inner size add up to less than this is summed entry by
/// entry; from it on detail::gemm runs (Eigen's GEMM, GEMV or its own small product). 20 is where
/// Eigen itself stops using its coefficient-based product for sizes known at run time.
inline constexpr Eigen::Index small_product_limit = 20;

/// True when a rows × cols product with inner size `depth` takes the entry-by-entry loop (an
/// empty inner size, a product of zeros, is left to Eigen).
constexpr bool is_small_product(Eigen::Index rows, Eigen::Index cols, Eigen::Index depth) {
    return depth > 0 && rows + cols + depth < small_product_limit;
}

/// An element-wise pass (the finiteness check of the gradients) over a matrix with at most this
/// many entries goes entry by entry; a larger one is left to Eigen's vectorised loops.
inline constexpr Eigen::Index small_map_limit = 32;

/// True when an element-wise pass over a rows × cols matrix goes entry by entry.
constexpr bool is_small_map(Eigen::Index rows, Eigen::Index cols) {
    return rows * cols <= small_map_limit;
}

/// True when the entries of `M` are read straight from memory (a matrix, a map, a block of
/// one): any other expression goes to Eigen, which evaluates it once instead of once per use.
template <class M>
constexpr bool reads_memory() {
    return (int(M::Flags) & Eigen::DirectAccessBit) != 0;
}

/// m.resize(rows, cols) unless m has that shape already. Eigen's resize() is an out-of-line call
/// for run-time sizes that also guards rows × cols against overflow with a division; the layer
/// states of a two-layer network size twelve buffers on every pass.
template <class M>
EIGEN_ALWAYS_INLINE void fit_shape(M&& m, Eigen::Index rows, Eigen::Index cols) {
    if (m.rows() != rows || m.cols() != cols)
        m.resize(rows, cols);
}

/// x·y + s. Where the processor has fused multiply-add (x86 FMA3, Arm) this is std::fma, one
/// instruction and one rounding. Written out, x·y + s may be fused or not at the compiler's
/// choice, and GCC -O3 chose differently in a loop and in the same loop unrolled for
/// compile-time sizes: the two layers then differed in the last bit.
template <class Scalar>
EIGEN_ALWAYS_INLINE Scalar multiply_add(Scalar x, Scalar y, Scalar s) {
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA) || defined(__FP_FAST_FMA)
    if constexpr (std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>)
        return std::fma(x, y, s);
#endif
    return x * y + s;
}

/// dst = α·lhs·rhs, or dst += α·lhs·rhs when `accumulate`, for a small product: each entry
/// summed over the inner index in order, then scaled (α = 1 is skipped, so a batch of one gives
/// the sum itself). lhs and rhs may be transposes; dst has its shape already. Always inlined,
/// like Eigen's own small products: a call per layer and pass costs more than the loop.
template <class Dst, class Lhs, class Rhs>
EIGEN_ALWAYS_INLINE void small_product(Dst& dst, const Lhs& lhs, const Rhs& rhs,
                                       typename Dst::Scalar alpha, bool accumulate) {
    using Scalar = typename Dst::Scalar;
    for (Eigen::Index j = 0; j < rhs.cols(); ++j) {
        for (Eigen::Index i = 0; i < lhs.rows(); ++i) {
            Scalar sum = lhs.coeff(i, 0) * rhs.coeff(0, j);
            for (Eigen::Index k = 1; k < lhs.cols() && k < small_product_limit; ++k)
                sum = multiply_add(lhs.coeff(i, k), rhs.coeff(k, j), sum);
            // One multiply_add when accumulating, as in small_row_sum() below: left to the
            // compiler, dst + α·sum is fused in some instantiations and not in others.
            if (accumulate)
                dst.coeffRef(i, j) = alpha != Scalar(1)
                                         ? multiply_add(alpha, sum, dst.coeff(i, j))
                                         : dst.coeff(i, j) + sum;
            else
                dst.coeffRef(i, j) = alpha != Scalar(1) ? alpha * sum : sum;
        }
    }
}

/// z = W a + b for a small product: each entry summed from bᵢ over the inner index in order.
/// z has its shape already.
template <class Z, class W, class A, class B>
EIGEN_ALWAYS_INLINE void small_affine(Z& z, const W& w, const A& a, const B& b) {
    using Scalar = typename std::decay_t<Z>::Scalar;
    for (Eigen::Index j = 0; j < a.cols(); ++j) {
        for (Eigen::Index i = 0; i < w.rows(); ++i) {
            Scalar sum = b.coeff(i);
            for (Eigen::Index k = 0; k < w.cols() && k < small_product_limit; ++k)
                sum = multiply_add(w.coeff(i, k), a.coeff(k, j), sum);
            z.coeffRef(i, j) = sum;
        }
    }
}

/// dst = α·(the sum of each row of m), or dst += that when `accumulate`, for a small m: each row
/// summed in order, then scaled as small_product() scales.
template <class Dst, class M>
EIGEN_ALWAYS_INLINE void small_row_sum(Dst& dst, const M& m, typename Dst::Scalar alpha,
                                       bool accumulate) {
    using Scalar = typename Dst::Scalar;
    for (Eigen::Index i = 0; i < m.rows(); ++i) {
        Scalar sum = m.coeff(i, 0);
        for (Eigen::Index j = 1; j < m.cols() && j < small_product_limit; ++j)
            sum += m.coeff(i, j);
        // dst + α·sum as one multiply_add: written as two statements, GCC -O3 fused them in
        // one instantiation of train_step and not in another (x a matrix against x a block of
        // it), and the two biases then differed in the last bit.
        if (accumulate)
            dst.coeffRef(i) =
                alpha != Scalar(1) ? multiply_add(alpha, sum, dst.coeff(i)) : dst.coeff(i) + sum;
        else
            dst.coeffRef(i) = alpha != Scalar(1) ? alpha * sum : sum;
    }
}

}  // namespace nabla::detail
