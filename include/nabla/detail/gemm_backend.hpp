#pragma once

// Which library runs the large products of detail::gemm: chosen when nabla is configured
// (CMake -DNABLA_GEMM=eigen|onednn|openblas|blis; eigen, the default, links nothing) and never seen by the
// layers, which call detail::product. A back end provides, in namespace nabla::detail:
//
//     gemm_backend_name                  its name ("onednn")
//     backend_takes<Scalar>              whether it runs products of that scalar type
//     backend_gemm(a_transposed, b_transposed, rows, cols, depth, α, a, lda, b, ldb, β, c, ldc)
//                                        C = α·op(A)·op(B) + β·C, column-major
//     backend_threads(), set_backend_threads(n)
//                                        the threads it runs one product on, from this thread
//
// Everything the back end does not take runs Eigen's kernel (detail/gemm.hpp).

#if defined(NABLA_GEMM_ONEDNN)
#include <nabla/detail/gemm_onednn.hpp>
#elif defined(NABLA_GEMM_OPENBLAS) || defined(NABLA_GEMM_BLIS)
#include <nabla/detail/gemm_cblas.hpp>
#else
#include <Eigen/Core>

namespace nabla::detail {

/// The back end's name, for benchmarks and messages.
inline constexpr const char* gemm_backend_name = "eigen";

/// True when detail::gemm hands products of this scalar type to the back end: never, here.
template <class Scalar>
inline constexpr bool backend_takes = false;

/// Not called: Eigen's kernel runs every product (backend_takes is false).
template <class Scalar>
void backend_gemm(bool, bool, Eigen::Index, Eigen::Index, Eigen::Index, Scalar, const Scalar*,
                  Eigen::Index, const Scalar*, Eigen::Index, Scalar, Scalar*, Eigen::Index) {}

/// The number of threads one product runs on: Eigen's kernel, as nabla calls it, uses one.
inline int backend_threads() { return 1; }

/// Nothing to set for Eigen's kernel; returns 1.
inline int set_backend_threads(int) { return 1; }

}  // namespace nabla::detail
#endif

namespace nabla::detail {

/// While it lives, this thread's products run on the back end's one thread (nabla's own threads
/// share the cores out: see ThreadPool); the count before is put back at the end.
class OneBackendThread {
public:
    OneBackendThread() : m_before(set_backend_threads(1)) {}
    OneBackendThread(const OneBackendThread&) = delete;
    OneBackendThread& operator=(const OneBackendThread&) = delete;
    ~OneBackendThread() { set_backend_threads(m_before); }

private:
    int m_before;
};

}  // namespace nabla::detail
