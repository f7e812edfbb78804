// detail/gemm.hpp with Eigen's public product alone (NABLA_GEMM_PUBLIC_PRODUCT_ONLY, set on this
// executable only), the path every product takes with an Eigen other than 3.4: gemm() must give
// what `dst.noalias() = α * lhs * rhs` gives, bit for bit, in every form the layers use, and must
// never reach the kernel path, whose packing scratch therefore stays empty even for a product
// large enough to need it there.

#include "catch.hpp"

#include <nabla/detail/gemm.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <thread>

static_assert(NABLA_GEMM_KERNEL_PATH == 0,
              "built without NABLA_GEMM_PUBLIC_PRODUCT_ONLY: this test checks the fallback");

namespace {

using Matrix = Eigen::MatrixXf;

TEST_CASE("gemm on the public product alone gives Eigen's product bit for bit", "[gemm]") {
    const Matrix w = Matrix::Random(300, 200);
    const Matrix a = Matrix::Random(200, 64);
    const Matrix delta = Matrix::Random(300, 64);
    const float alpha = 0.25f;

    Matrix z;
    nabla::detail::gemm(z, w, a, 1.0f, false);  // z = W a
    Matrix expected;
    expected.noalias() = w * a;
    CHECK(z == expected);

    Matrix dw;
    nabla::detail::gemm(dw, delta, a.transpose(), alpha, false);  // ∂C/∂W = α δ aᵀ
    expected.noalias() = alpha * delta * a.transpose();
    CHECK(dw == expected);

    nabla::detail::gemm(dw, delta, a.transpose(), alpha, true);  // accumulated
    expected.noalias() += alpha * delta * a.transpose();
    CHECK(dw == expected);

    Matrix da;
    nabla::detail::gemm(da, w.transpose(), delta, 1.0f, false);  // Wᵀ δ
    expected.noalias() = w.transpose() * delta;
    CHECK(da == expected);
}

TEST_CASE("gemm on the public product alone never packs into the scratch", "[gemm]") {
    std::size_t capacity = 1;
    std::thread worker([&] {
        const Matrix w = Matrix::Ones(300, 300);  // 352 KB per operand: heap-sized blocks
        Matrix c;
        nabla::detail::gemm(c, w, w, 1.0f, false);
        CHECK(c(0, 0) == 300.0f);
        capacity = nabla::detail::gemm_scratch().capacity();
    });
    worker.join();
    CHECK(capacity == 0);
}

}  // namespace
