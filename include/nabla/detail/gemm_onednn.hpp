#pragma once

// The oneDNN back end of detail::gemm (CMake: -DNABLA_GEMM=onednn, which defines
// NABLA_GEMM_ONEDNN and links oneDNN to nabla::nabla): the float products that Eigen would send to
// its GEMM kernel go to dnnl_sgemm instead.
//
// Why: on one AVX-512 core, the W1 and W2 training steps measured 1.40× and 1.46× as fast with
// it as with Eigen's kernel, at 73% and 78% of the core's multiply-add peak against 51% and 53%
// (docs/performance.md). oneDNN 2.6 has no double GEMM, so double products stay with Eigen.
//
// dnnl_sgemm is row-major; nabla's matrices are column-major. A column-major C is the row-major
// Cᵀ with the same leading dimension, so C = α·op(A)·op(B) + β·C is computed as
// Cᵀ = α·op(B)ᵀ·op(A)ᵀ + β·Cᵀ: the operands swap places, and each one's transposition flag is
// whether it is stored row-major (a .transpose() of a column-major matrix).
//
// Allocation: dnnl_sgemm allocates on every call: its packing buffer (one posix_memalign, 74 KB
// to 2 MB at the W1 and W2 shapes) and 2 or 3 small objects through operator new, all freed
// before it returns. Its public API has no way to hand it memory. So with this back end a
// training step allocates, which nabla's own code and Eigen's kernel never do; the allocation
// tests (test_allocations*) hold for the Eigen back end only.
//
// Threads: oneDNN runs each product on the calling thread's OpenMP team, whose size is that
// thread's omp_get_max_threads(). nabla's own threads (ThreadPool, so DataParallel and fit() with
// threads > 1) each run their part with a team of one (OneBackendThread in
// detail/gemm_backend.hpp): two shards on two cores, not two shards each asking for two cores.

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>

#include <Eigen/Core>
#include <oneapi/dnnl/dnnl.h>
#include <type_traits>

// The two OpenMP calls used here, as the OpenMP API declares them: oneDNN's OpenMP runtime
// (libgomp in Debian's build) provides them, and omp.h is not on every compiler's path
// without -fopenmp, which would also turn on Eigen's own OpenMP products.
extern "C" {
int omp_get_max_threads(void);
void omp_set_num_threads(int);
}

namespace nabla::detail {

/// The back end's name, for benchmarks and messages.
inline constexpr const char* gemm_backend_name = "onednn";

/// True when detail::gemm hands products of this scalar type to the back end.
template <class Scalar>
inline constexpr bool backend_takes = std::is_same_v<Scalar, float>;

/// C = α·op(A)·op(B) + β·C, all column-major: A is rows × depth (or its transpose stored
/// row-major when `a_transposed`), B depth × cols likewise, C rows × cols with leading
/// dimension ldc. Throws ResourceError when oneDNN refuses.
inline void backend_gemm(bool a_transposed, bool b_transposed, Eigen::Index rows,
                         Eigen::Index cols, Eigen::Index depth, float alpha, const float* a,
                         Eigen::Index lda, const float* b, Eigen::Index ldb, float beta, float* c,
                         Eigen::Index ldc) {
    const dnnl_status_t status =
        dnnl_sgemm(b_transposed ? 'T' : 'N', a_transposed ? 'T' : 'N', cols, rows, depth, alpha,
                   b, ldb, a, lda, beta, c, ldc);  // Cᵀ = op(B)ᵀ·op(A)ᵀ, row-major
    if (status != dnnl_success) {
        throw ResourceError(cat("gemm: oneDNN's sgemm failed with status ", int(status), " on a ",
                                rows, " x ", depth, " by ", depth, " x ", cols, " product"));
    }
}

/// The number of threads the back end would run a product on from this thread.
inline int backend_threads() { return omp_get_max_threads(); }

/// Sets the number of threads the back end runs this thread's products on; returns the number
/// before.
inline int set_backend_threads(int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    return before;
}

}  // namespace nabla::detail
