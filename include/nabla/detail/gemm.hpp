#pragma once

// dst = α·lhs·rhs (or dst += α·lhs·rhs) without touching the heap once warmed up.
//
// Why: Eigen's matrix product packs blocks of its operands into two buffers (blockA, blockB)
// before its kernel runs. It puts them on the stack when they fit EIGEN_STACK_ALLOCATION_LIMIT
// (128 KB) and otherwise takes them from the heap, on every product: a 784-256-128-10 step
// made 2 such allocations, three 1024-wide layers with a batch of 256 made 16. Here the same
// kernel runs with packing buffers taken from a scratch area kept per thread, which grows to the
// largest blocks a thread has seen and is then reused: only the first product of a new, larger
// shape allocates, and threads never share a buffer. Blocks small enough for the stack stay on
// the stack, as in Eigen's own product.
//
// WRITTEN FOR EIGEN 3.4. The kernel path calls Eigen internals whose shape changes between
// releases: internal::general_matrix_matrix_product<...>::run (3.4 added its result inner
// stride), internal::level3_blocking (its protected members),
// internal::computeProductBlockingSizes, internal::blas_traits and internal::product_type. With
// any other Eigen (NABLA_GEMM_KERNEL_PATH is then 0) every product takes gemm_fallback(), Eigen's
// own public product: the same results, but large blocks are allocated on each product as
// Eigen does, and a back end chosen with NABLA_GEMM is not used. Defining
// NABLA_GEMM_PUBLIC_PRODUCT_ONLY takes that path on Eigen 3.4 too (the test of the fallback).
//
// What takes which path:
//   - Eigen's kernel with our buffers: a product that Eigen would itself send to its GEMM
//     kernel, of float or double, whose operands and destination are direct-access
//     with unit inner stride (matrices, Maps, Refs, middleCols/middleRows/blocks of those, and
//     .transpose() of any of them), the destination column-major, and not all of rows, columns
//     and depth bounded at compile time.
//   - Eigen's own `dst.noalias() = α * lhs * rhs` (gemm_fallback) for everything else: sizes
//     fixed at compile time (Eigen keeps those blocks in the object, never on the heap), products
//     Eigen makes coefficient by coefficient or by GEMV (chosen at compile time where the types
//     tell, else at run time by size exactly as Eigen decides), operands that are expressions
//     without direct access or with a non-unit inner stride (Eigen evaluates them into a
//     temporary first), row-major destinations, a build with EIGEN_USE_BLAS (the BLAS packs
//     into its own memory), and a product Eigen would split across OpenMP threads.
// The kernel path runs the very code Eigen's product runs, with the blocking sizes Eigen's own
// computeProductBlockingSizes gives (called, not copied), so the result is the same bit for bit
// and so is the speed.
//
// A back end chosen at configure time (detail/gemm_backend.hpp; -DNABLA_GEMM=onednn) takes the
// kernel path's products of the scalar types it runs: the same products, another library's
// kernel, the same result up to the rounding of its order of summation.

#include <nabla/detail/gemm_backend.hpp>
#include <nabla/error.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <new>
#include <type_traits>

/// 1 when the kernel path is compiled: Eigen 3.4.x (not its development versions, 3.4.90 and
/// up), unless NABLA_GEMM_PUBLIC_PRODUCT_ONLY asks for Eigen's public product alone.
#if EIGEN_WORLD_VERSION == 3 && EIGEN_MAJOR_VERSION == 4 && EIGEN_MINOR_VERSION < 90 && \
    !defined(NABLA_GEMM_PUBLIC_PRODUCT_ONLY)
#define NABLA_GEMM_KERNEL_PATH 1
#else
#define NABLA_GEMM_KERNEL_PATH 0
#endif

namespace nabla::detail {

/// One thread's memory for packed GEMM blocks: grows to the largest request and is kept.
class GemmScratch {
public:
    /// Cache-line alignment, enough for every packet size Eigen uses (AVX-512 included).
    static constexpr std::size_t alignment = 64;

    GemmScratch() = default;
    GemmScratch(const GemmScratch&) = delete;
    GemmScratch& operator=(const GemmScratch&) = delete;
    ~GemmScratch() { release(); }

    /// At least `bytes` bytes, aligned to `alignment`; allocates only when larger than ever.
    void* reserve(std::size_t bytes) {
        if (bytes > m_capacity) {
            release();
            m_data = ::operator new(bytes, std::align_val_t(alignment));
            m_capacity = bytes;
        }
        return m_data;
    }

    /// The bytes held now.
    std::size_t capacity() const { return m_capacity; }

private:
    void release() {
        if (m_data != nullptr) ::operator delete(m_data, std::align_val_t(alignment));
        m_data = nullptr;
        m_capacity = 0;
    }

    void* m_data = nullptr;
    std::size_t m_capacity = 0;
};

/// The calling thread's scratch; each thread has its own, freed when the thread ends.
inline GemmScratch& gemm_scratch() {
    thread_local GemmScratch scratch;
    return scratch;
}

#if NABLA_GEMM_KERNEL_PATH
/// Eigen's blocking for one product, computed as Eigen's product computes it (one thread, no
/// extra depth factor) so that the kernel walks the same blocks. A packed block that Eigen would
/// take from the heap (larger than EIGEN_STACK_ALLOCATION_LIMIT, or any size where Eigen has no
/// alloca) is placed in the thread's scratch; a smaller one is left null, and Eigen puts it on
/// the stack exactly as in its own product.
template <class LhsScalar, class RhsScalar>
class GemmBlocking : public Eigen::internal::level3_blocking<LhsScalar, RhsScalar> {
public:
    /// Blocking of a rows × depth by depth × cols product.
    GemmBlocking(Eigen::Index rows, Eigen::Index cols, Eigen::Index depth) {
        this->m_mc = rows;
        this->m_nc = cols;
        this->m_kc = depth;
        Eigen::internal::computeProductBlockingSizes<LhsScalar, RhsScalar, 1>(
            this->m_kc, this->m_mc, this->m_nc, Eigen::Index(1));
        // The sizes general_matrix_matrix_product::run asks for.
        const std::size_t a_bytes =
            std::size_t(this->m_kc * std::min(rows, this->m_mc)) * sizeof(LhsScalar);
        const std::size_t b_bytes =
            std::size_t(this->m_kc * std::min(cols, this->m_nc)) * sizeof(RhsScalar);
        const std::size_t a_room = on_heap(a_bytes) ? round_up(a_bytes) : 0;
        const std::size_t b_room = on_heap(b_bytes) ? b_bytes : 0;
        if (a_room + b_room == 0) return;
        char* base = static_cast<char*>(gemm_scratch().reserve(a_room + b_room));
        if (a_room > 0) this->m_blockA = reinterpret_cast<LhsScalar*>(base);
        if (b_room > 0) this->m_blockB = reinterpret_cast<RhsScalar*>(base + a_room);
    }

private:
    static bool on_heap(std::size_t bytes) {
#ifdef EIGEN_ALLOCA
        return bytes > std::size_t(EIGEN_STACK_ALLOCATION_LIMIT);
#else
        return bytes > 0;
#endif
    }

    static std::size_t round_up(std::size_t bytes) {
        return (bytes + GemmScratch::alignment - 1) / GemmScratch::alignment *
               GemmScratch::alignment;
    }
};

/// Whether dst = lhs·rhs can run Eigen's GEMM kernel with our buffers, as far as the types tell.
template <class Dst, class Lhs, class Rhs>
struct GemmKernelFits {
private:
    using Scalar = typename Dst::Scalar;
    using LhsTraits = Eigen::internal::blas_traits<Lhs>;
    using RhsTraits = Eigen::internal::blas_traits<Rhs>;
    // Bounded in all three: Eigen keeps the blocks inside its blocking object, never on the heap.
    static constexpr bool fixed = int(Dst::MaxRowsAtCompileTime) != Eigen::Dynamic &&
                                  int(Dst::MaxColsAtCompileTime) != Eigen::Dynamic &&
                                  (int(Lhs::MaxColsAtCompileTime) != Eigen::Dynamic ||
                                   int(Rhs::MaxRowsAtCompileTime) != Eigen::Dynamic);

public:
    /// True when the kernel path may be taken (it still needs large enough run-time sizes).
    static constexpr bool value =
#ifdef EIGEN_USE_BLAS
        false &&
#endif
        (std::is_same<Scalar, float>::value || std::is_same<Scalar, double>::value) &&
        std::is_same<Scalar, typename Lhs::Scalar>::value &&
        std::is_same<Scalar, typename Rhs::Scalar>::value &&
        int(Eigen::internal::product_type<Lhs, Rhs>::value) == int(Eigen::GemmProduct) &&
        !fixed && !Dst::IsVectorAtCompileTime && !Lhs::IsVectorAtCompileTime &&
        !Rhs::IsVectorAtCompileTime && (int(Dst::Flags) & Eigen::DirectAccessBit) != 0 &&
        (int(Dst::Flags) & Eigen::LvalueBit) != 0 && (int(Dst::Flags) & Eigen::RowMajorBit) == 0 &&
        int(Eigen::internal::inner_stride_at_compile_time<Dst>::ret) == 1 &&
        bool(LhsTraits::HasUsableDirectAccess) && bool(RhsTraits::HasUsableDirectAccess);
};

#if defined(EIGEN_HAS_OPENMP) && !defined(EIGEN_USE_BLAS) && \
    (EIGEN_HAS_CXX11_ATOMIC || EIGEN_ARCH_i386_OR_x86_64)
/// True when Eigen's product of these sizes would run on several OpenMP threads (the test of
/// Eigen's parallelize_gemm); such a product is left to Eigen, which allocates for it.
template <class Traits, bool Condition>
bool eigen_splits_gemm(Eigen::Index rows, Eigen::Index cols, Eigen::Index depth) {
    if (!Condition || omp_get_num_threads() > 1) return false;
    const double work = double(rows) * double(cols) * double(depth);
    const Eigen::Index by_width = std::max<Eigen::Index>(1, cols / Traits::nr);
    const Eigen::Index by_work = static_cast<Eigen::Index>(work / 50000);
    const Eigen::Index most = std::max<Eigen::Index>(1, std::min(by_width, by_work));
    return std::min<Eigen::Index>(Eigen::nbThreads(), most) > 1;
}
#endif
#endif  // NABLA_GEMM_KERNEL_PATH

/// Eigen's own product: dst = α·lhs·rhs, or dst += α·lhs·rhs. The path of everything the kernel
/// path does not take.
template <class Dst, class Lhs, class Rhs>
void gemm_fallback(Eigen::MatrixBase<Dst>& dst, const Eigen::MatrixBase<Lhs>& lhs,
                   const Eigen::MatrixBase<Rhs>& rhs, typename Dst::Scalar alpha,
                   bool accumulate) {
    using Scalar = typename Dst::Scalar;
    // α = 1 without the scalar multiple: Eigen's coefficient-based product would multiply by it.
    if (alpha == Scalar(1)) {
        if (accumulate)
            dst.derived().noalias() += lhs.derived() * rhs.derived();
        else
            dst.derived().noalias() = lhs.derived() * rhs.derived();
    } else {
        if (accumulate)
            dst.derived().noalias() += alpha * lhs.derived() * rhs.derived();
        else
            dst.derived().noalias() = alpha * lhs.derived() * rhs.derived();
    }
}

#if NABLA_GEMM_KERNEL_PATH
/// The operands of α·lhs·rhs as Eigen's product sees them: each with any transpose or scalar
/// factor peeled off (a, b, and whether each is stored row-major, i.e. transposed), and α times
/// those factors.
template <class Lhs, class Rhs>
struct GemmOperands {
    using Scalar = typename Lhs::Scalar;
    using LhsTraits = Eigen::internal::blas_traits<Lhs>;
    using RhsTraits = Eigen::internal::blas_traits<Rhs>;
    using A = typename Eigen::internal::remove_all<typename LhsTraits::ExtractType>::type;
    using B = typename Eigen::internal::remove_all<typename RhsTraits::ExtractType>::type;
    /// True when a (or b) is stored row-major: the transpose of a column-major matrix.
    static constexpr bool a_row_major = (int(A::Flags) & Eigen::RowMajorBit) != 0;
    static constexpr bool b_row_major = (int(B::Flags) & Eigen::RowMajorBit) != 0;

    /// Peels lhs and rhs; `alpha` is the caller's α.
    GemmOperands(const Lhs& lhs, const Rhs& rhs, Scalar alpha)
        : a(LhsTraits::extract(lhs)),
          b(RhsTraits::extract(rhs)),
          actual_alpha(alpha * LhsTraits::extractScalarFactor(lhs) *
                       RhsTraits::extractScalarFactor(rhs)) {}

    typename Eigen::internal::add_const_on_value_type<typename LhsTraits::ExtractType>::type a;
    typename Eigen::internal::add_const_on_value_type<typename RhsTraits::ExtractType>::type b;
    Scalar actual_alpha;  ///< α times the scalar factors peeled off lhs and rhs
};

/// Eigen's GEMM kernel on blocks packed into the thread's scratch: dst += α·lhs·rhs. Sizes are
/// checked by the caller; dst is column-major with unit inner stride (GemmKernelFits).
template <class Dst, class Lhs, class Rhs>
void gemm_kernel(Eigen::MatrixBase<Dst>& dst, const Eigen::MatrixBase<Lhs>& lhs,
                 const Eigen::MatrixBase<Rhs>& rhs, typename Dst::Scalar alpha) {
    using Scalar = typename Dst::Scalar;
    using Operands = GemmOperands<Lhs, Rhs>;
    const Operands op(lhs.derived(), rhs.derived(), alpha);
    // Result column-major with inner stride 1, as GemmKernelFits requires.
    using Product = Eigen::internal::general_matrix_matrix_product<
        Eigen::Index, Scalar, Operands::a_row_major ? Eigen::RowMajor : Eigen::ColMajor,
        bool(Operands::LhsTraits::NeedToConjugate), Scalar,
        Operands::b_row_major ? Eigen::RowMajor : Eigen::ColMajor,
        bool(Operands::RhsTraits::NeedToConjugate), Eigen::ColMajor, 1>;

    const Eigen::Index rows = dst.rows();
    const Eigen::Index cols = dst.cols();
    const Eigen::Index depth = op.a.cols();
    GemmBlocking<Scalar, Scalar> blocking(rows, cols, depth);
    Product::run(rows, cols, depth, op.a.data(), op.a.outerStride(), op.b.data(),
                 op.b.outerStride(), dst.derived().data(), dst.derived().innerStride(),
                 dst.derived().outerStride(), op.actual_alpha, blocking, nullptr);
}

/// dst = α·lhs·rhs, or dst += α·lhs·rhs when `accumulate`, by the back end's GEMM
/// (detail/gemm_backend.hpp), for the operands GemmKernelFits admits: each operand's transpose
/// or scalar factor is peeled off as Eigen's product does, and handed over as a flag and α.
template <class Dst, class Lhs, class Rhs>
void gemm_on_backend(Eigen::MatrixBase<Dst>& dst, const Eigen::MatrixBase<Lhs>& lhs,
                     const Eigen::MatrixBase<Rhs>& rhs, typename Dst::Scalar alpha,
                     bool accumulate) {
    using Scalar = typename Dst::Scalar;
    using Operands = GemmOperands<Lhs, Rhs>;
    const Operands op(lhs.derived(), rhs.derived(), alpha);
    backend_gemm(Operands::a_row_major, Operands::b_row_major, dst.rows(), dst.cols(),
                 op.a.cols(), op.actual_alpha, op.a.data(), op.a.outerStride(), op.b.data(),
                 op.b.outerStride(), accumulate ? Scalar(1) : Scalar(0), dst.derived().data(),
                 dst.derived().outerStride());
}
#endif  // NABLA_GEMM_KERNEL_PATH

/// dst = α·lhs·rhs, or dst += α·lhs·rhs when `accumulate`, as `dst.noalias() = α * lhs * rhs`
/// computes it (the same result bit for bit, unless a back end takes it) but without heap
/// allocations once the calling thread has run a product with blocks as large: Eigen's packing
/// buffers come from a scratch area kept per thread (see the top of this file for which products
/// take that path).
///
///     gemm(z, W, a, Scalar(1), false);                        // z = W a
///     gemm(dW, delta, a.transpose(), Scalar(1) / n, false);   // ∂C/∂W = (1/n) δ aᵀ
///     gemm(da, W.transpose(), delta, Scalar(1), false);       // (W)ᵀ δ
///
/// Shapes: lhs rows × depth, rhs depth × cols, dst rows × cols (a resizable dst is resized when
/// not accumulating, as Eigen's assignment does). As with noalias(), dst must not overlap lhs or
/// rhs: `gemm(A, A, B, ...)` is wrong.
template <class Dst, class Lhs, class Rhs>
void gemm(Eigen::MatrixBase<Dst>& dst, const Eigen::MatrixBase<Lhs>& lhs,
          const Eigen::MatrixBase<Rhs>& rhs, typename Dst::Scalar alpha, bool accumulate) {
#if NABLA_GEMM_KERNEL_PATH
    if constexpr (GemmKernelFits<Dst, Lhs, Rhs>::value) {
        const Eigen::Index rows = lhs.rows();
        const Eigen::Index cols = rhs.cols();
        const Eigen::Index depth = lhs.cols();
        NABLA_ASSERT(rhs.rows() == depth);
        // Eigen's choice for a product of run-time size: coefficient-based below the threshold,
        // GEMV for a single row or column, nothing for an empty product; GEMM otherwise.
        bool kernel = depth > 0 && rows > 1 && cols > 1 &&
                      rows + cols + depth >= EIGEN_GEMM_TO_COEFFBASED_THRESHOLD;
#if defined(EIGEN_HAS_OPENMP) && !defined(EIGEN_USE_BLAS) && \
    (EIGEN_HAS_CXX11_ATOMIC || EIGEN_ARCH_i386_OR_x86_64)
        using Scalar = typename Dst::Scalar;
        using Traits = Eigen::internal::gebp_traits<Scalar, Scalar>;
        constexpr bool may_split = int(Dst::MaxRowsAtCompileTime) > 32 ||
                                   int(Dst::MaxRowsAtCompileTime) == Eigen::Dynamic;
        kernel = kernel && !eigen_splits_gemm<Traits, may_split>(rows, cols, depth);
#endif
        if (kernel) {
            if (!accumulate && (dst.rows() != rows || dst.cols() != cols))
                dst.derived().resize(rows, cols);
            NABLA_ASSERT(dst.rows() == rows && dst.cols() == cols);
            if constexpr (backend_takes<typename Dst::Scalar>) {
                gemm_on_backend(dst, lhs, rhs, alpha, accumulate);  // β = 0 ignores dst
            } else {
                if (!accumulate) dst.setZero();
                gemm_kernel(dst, lhs, rhs, alpha);
            }
            return;
        }
    }
#endif
    gemm_fallback(dst, lhs, rhs, alpha, accumulate);
}

/// gemm() into a temporary block expression, e.g. `gemm(dW.middleCols(c, nc), ...)`.
template <class Dst, class Lhs, class Rhs>
void gemm(Eigen::MatrixBase<Dst>&& dst, const Eigen::MatrixBase<Lhs>& lhs,
          const Eigen::MatrixBase<Rhs>& rhs, typename Dst::Scalar alpha, bool accumulate) {
    gemm(dst, lhs, rhs, alpha, accumulate);
}

}  // namespace nabla::detail
