#pragma once

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
    if (m.rows() != rows || m.cols() != cols) m.resize(rows, cols);
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

/// z = W a + b for a small layer: z(i, j) starts from b(i) and adds W(i, k) a(k, j) for k in
/// order. `z` is resized to fit. Always inlined, like Eigen's own small products: a call per
/// layer and pass costs more than the loop.
template <class Z, class W, class A, class B>
EIGEN_ALWAYS_INLINE void small_affine(Z& z, const W& w, const A& a, const B& b) {
    using Scalar = typename Z::Scalar;
    fit_shape(z, w.rows(), a.cols());
    for (Eigen::Index j = 0; j < a.cols(); ++j) {
        for (Eigen::Index i = 0; i < w.rows(); ++i) {
            Scalar sum = b.coeff(i);
            for (Eigen::Index k = 0; k < w.cols() && k < small_product_limit; ++k)
                sum = multiply_add(w.coeff(i, k), a.coeff(k, j), sum);
            z.coeffRef(i, j) = sum;
        }
    }
}

/// ∂C/∂W = (1/n) δ aᵀ and ∂C/∂b = (1/n) Σⱼ δ(:, j) for a small layer and a batch of n columns:
/// each entry summed over the batch in order, then scaled (for n = 1 the factor is exactly 1
/// and skipped). dW and db are resized to fit.
template <class GW, class GB, class D, class A>
EIGEN_ALWAYS_INLINE void small_gradients(GW& dW, GB& db, const D& delta, const A& a) {
    using Scalar = typename GW::Scalar;
    const Eigen::Index n = delta.cols();
    const Scalar inv_batch = Scalar(1) / Scalar(n);
    fit_shape(dW, delta.rows(), a.rows());
    fit_shape(db, delta.rows(), 1);
    for (Eigen::Index k = 0; k < a.rows(); ++k) {
        for (Eigen::Index i = 0; i < delta.rows(); ++i) {
            Scalar sum = delta.coeff(i, 0) * a.coeff(k, 0);
            for (Eigen::Index j = 1; j < n && j < small_product_limit; ++j)
                sum = multiply_add(delta.coeff(i, j), a.coeff(k, j), sum);
            dW.coeffRef(i, k) = n == 1 ? sum : inv_batch * sum;
        }
    }
    for (Eigen::Index i = 0; i < delta.rows(); ++i) {
        Scalar sum = delta.coeff(i, 0);
        for (Eigen::Index j = 1; j < n && j < small_product_limit; ++j) sum += delta.coeff(i, j);
        db.coeffRef(i) = n == 1 ? sum : inv_batch * sum;
    }
}

/// out = Wᵀδ for a small layer: out(k, j) = Σᵢ W(i, k) δ(i, j), summed over i in order. `out`
/// is resized to fit.
template <class Out, class W, class D>
EIGEN_ALWAYS_INLINE void small_transposed_product(Out& out, const W& w, const D& delta) {
    using Scalar = typename Out::Scalar;
    fit_shape(out, w.cols(), delta.cols());
    for (Eigen::Index j = 0; j < delta.cols(); ++j) {
        for (Eigen::Index k = 0; k < w.cols(); ++k) {
            Scalar sum = w.coeff(0, k) * delta.coeff(0, j);
            for (Eigen::Index i = 1; i < w.rows() && i < small_product_limit; ++i)
                sum = multiply_add(w.coeff(i, k), delta.coeff(i, j), sum);
            out.coeffRef(k, j) = sum;
        }
    }
}

}  // namespace nabla::detail
