#pragma once

// The OpenBLAS and BLIS back ends of detail::gemm (CMake: -DNABLA_GEMM=openblas or blis, which
// define NABLA_GEMM_OPENBLAS or NABLA_GEMM_BLIS and link the library to nabla::nabla): the float
// and double products that Eigen would send to its GEMM kernel go to the library's CBLAS
// cblas_sgemm / cblas_dgemm instead, column-major as nabla's matrices are.
//
// Why offer them: they are the BLAS libraries Debian ships, some users' programs link one
// already, and both run double products, which oneDNN 2.6 does not. On the AVX-512 core they
// were measured on, both releases pick kernels older than the processor (OpenBLAS its Haswell
// ones, BLIS its reference ones) and ran slower than Eigen's kernel; told the core type
// (OPENBLAS_CORETYPE, BLIS_ARCH_TYPE) they came near oneDNN or above Eigen
// (docs/performance.md). oneDNN is the faster float back end there.
//
// Threads: both libraries keep one thread count for the whole process (openblas_set_num_threads,
// bli_thread_set_num_threads), not one per calling thread as OpenMP does. nabla's own threads
// each set it to 1 (ThreadPool), and only ever to 1, so with nabla's threads at work every
// product runs on one thread; a single-threaded caller gets the library's own count (from
// OPENBLAS_NUM_THREADS, BLIS_NUM_THREADS or OMP_NUM_THREADS) back after each ThreadPool run.

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>

#include <Eigen/Core>
#include <cblas.h>
#include <climits>
#include <cstdint>
#include <type_traits>

#if defined(NABLA_GEMM_BLIS)
// BLIS's thread count, as blis.h declares it (dim_t is int64_t); blis.h itself is 40,000 lines.
extern "C" {
std::int64_t bli_thread_get_num_threads(void);
void bli_thread_set_num_threads(std::int64_t);
}
#endif

namespace nabla::detail {

/// The back end's name, for benchmarks and messages.
#if defined(NABLA_GEMM_BLIS)
inline constexpr const char* gemm_backend_name = "blis";
#else
inline constexpr const char* gemm_backend_name = "openblas";
#endif

/// True when detail::gemm hands products of this scalar type to the back end.
template <class Scalar>
inline constexpr bool backend_takes =
    std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>;

/// `size` as CBLAS's int; throws ShapeError past INT_MAX, which CBLAS cannot be given.
inline int cblas_size(Eigen::Index size, const char* what) {
    if (size > Eigen::Index(INT_MAX)) {
        throw ShapeError(cat("gemm: ", what, " ", size, " is past the ", INT_MAX,
                             " that the ", gemm_backend_name, " back end's CBLAS takes"));
    }
    return int(size);
}

/// C = α·op(A)·op(B) + β·C, all column-major: A is rows × depth (or its transpose stored
/// row-major when `a_transposed`), B depth × cols likewise, C rows × cols with leading
/// dimension ldc.
template <class Scalar>
void backend_gemm(bool a_transposed, bool b_transposed, Eigen::Index rows, Eigen::Index cols,
                  Eigen::Index depth, Scalar alpha, const Scalar* a, Eigen::Index lda,
                  const Scalar* b, Eigen::Index ldb, Scalar beta, Scalar* c, Eigen::Index ldc) {
    const CBLAS_TRANSPOSE op_a = a_transposed ? CblasTrans : CblasNoTrans;
    const CBLAS_TRANSPOSE op_b = b_transposed ? CblasTrans : CblasNoTrans;
    const int m = cblas_size(rows, "a product's row count");
    const int n = cblas_size(cols, "a product's column count");
    const int k = cblas_size(depth, "a product's inner size");
    const int la = cblas_size(lda, "a leading dimension");
    const int lb = cblas_size(ldb, "a leading dimension");
    const int lc = cblas_size(ldc, "a leading dimension");
    if constexpr (std::is_same_v<Scalar, float>)
        cblas_sgemm(CblasColMajor, op_a, op_b, m, n, k, alpha, a, la, b, lb, beta, c, lc);
    else
        cblas_dgemm(CblasColMajor, op_a, op_b, m, n, k, alpha, a, la, b, lb, beta, c, lc);
}

/// The number of threads the back end runs a product on (the process's setting).
inline int backend_threads() {
#if defined(NABLA_GEMM_BLIS)
    return int(bli_thread_get_num_threads());
#else
    return openblas_get_num_threads();
#endif
}

/// Sets the number of threads the back end runs products on, for the whole process; returns
/// the number before.
inline int set_backend_threads(int threads) {
    const int before = backend_threads();
#if defined(NABLA_GEMM_BLIS)
    bli_thread_set_num_threads(threads);
#else
    openblas_set_num_threads(threads);
#endif
    return before;
}

}  // namespace nabla::detail
