// detail::gemm allocates nothing once warmed up, at the sizes where Eigen's own product takes its
// packing buffers from the heap on every call: the products of a 784-256-128-10 step with a
// batch of 64 (W1) and of three 1024 × 1024 layers with a batch of 256 (W2), on the calling
// thread and on a second std::thread. allocation_counter.hpp explains how it is counted.

#include "allocation_counter.hpp"  // first: it must precede every Eigen include

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/detail/gemm.hpp>

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using nabla_alloc_test::count_allocations;
using nabla_alloc_test::Counts;
using nabla_test::random_matrix;
using Index = Eigen::Index;

/// The buffers of the products of one training step of a dense network, one sample per column.
template <class Scalar>
struct StepProducts {
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

    std::vector<Matrix> w;      // Wˡ, outputs × inputs
    std::vector<Matrix> a;      // aˡ, a[0] the input: sizes[l] × batch
    std::vector<Matrix> z;      // zˡ, outputs × batch
    std::vector<Matrix> delta;  // δˡ, outputs × batch
    std::vector<Matrix> dw;     // ∂C/∂Wˡ
    std::vector<Matrix> da;     // (Wˡ)ᵀ δˡ, inputs × batch

    StepProducts(const std::vector<Index>& sizes, Index batch) {
        for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
            const Index in = sizes[l];
            const Index out = sizes[l + 1];
            w.push_back(random_matrix<Matrix>(out, in, 10 + l, -0.1, 0.1));
            a.push_back(random_matrix<Matrix>(in, batch, 20 + l));
            delta.push_back(random_matrix<Matrix>(out, batch, 30 + l));
            z.push_back(Matrix::Zero(out, batch));
            dw.push_back(Matrix::Zero(out, in));
            da.push_back(Matrix::Zero(in, batch));
        }
    }

    /// z = W a, ∂C/∂W = (1/n) δ aᵀ, (W)ᵀ δ in every layer, then the data-parallel form of
    /// ∂C/∂W: two column slices, each the sum of two shards' (1/n) δₜ (aₜ slice)ᵀ.
    void run() {
        const Index batch = a[0].cols();
        const Scalar inv_batch = Scalar(1) / Scalar(batch);
        for (std::size_t l = 0; l < w.size(); ++l) {
            nabla::detail::gemm(z[l], w[l], a[l], Scalar(1), false);
            nabla::detail::gemm(dw[l], delta[l], a[l].transpose(), inv_batch, false);
            nabla::detail::gemm(da[l], w[l].transpose(), delta[l], Scalar(1), false);
            const Index half = w[l].cols() / 2;
            const Index shard = batch / 2;
            for (Index c : {Index(0), half}) {
                const Index nc = c == 0 ? half : w[l].cols() - half;
                typename Matrix::ColsBlockXpr slice = dw[l].middleCols(c, nc);
                for (Index t : {Index(0), shard}) {
                    const Index nt = t == 0 ? shard : batch - shard;
                    nabla::detail::gemm(slice, delta[l].middleCols(t, nt),
                                        a[l].block(c, t, nc, nt).transpose(), inv_batch, t != 0);
                }
            }
        }
    }
};

/// The W1 and W2 products after one warm-up pass: what the measured passes allocated.
template <class Scalar>
Counts steady_state(const std::vector<Index>& sizes, Index batch, int passes) {
    StepProducts<Scalar> step(sizes, batch);
    step.run();
    return count_allocations([&] {
        for (int p = 0; p < passes; ++p) step.run();
    });
}

const std::vector<Index> w1_sizes = {784, 256, 128, 10};
const std::vector<Index> w2_sizes = {1024, 1024, 1024, 1024};

}  // namespace

TEST_CASE("allocations: Eigen's own product allocates at these sizes, gemm's first call too",
          "[allocations][gemm]") {
    // Positive controls: the count sees what gemm exists to avoid, and gemm's own warm-up. In
    // float, unless a GEMM back end (NABLA_GEMM) takes float products, which never reach the
    // scratch: then in double, which Eigen's kernel still runs.
    using Scalar = std::conditional_t<nabla::detail::backend_takes<float>, double, float>;
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    const Matrix w = random_matrix<Matrix>(1024, 1024, 1);
    const Matrix a = random_matrix<Matrix>(1024, 256, 2);
    Matrix z = Matrix::Zero(1024, 256);
    const Counts eigen = count_allocations([&] { z.noalias() = w * a; });
    CHECK(eigen.eigen_mallocs > 0);

    Counts first;
    Counts second;
    std::thread fresh([&] {
        first = count_allocations([&] { nabla::detail::gemm(z, w, a, Scalar(1), false); });
        second = count_allocations([&] { nabla::detail::gemm(z, w, a, Scalar(1), false); });
    });
    fresh.join();
    CHECK(first.new_calls == 1);  // the thread's scratch, once
    CHECK(first.eigen_mallocs == 0);
    CHECK(second.total() == 0);
    CHECK(nabla_alloc_test::other_asserts == 0);
}

TEST_CASE("allocations: gemm allocates nothing after one warm-up, W1 and W2 shapes",
          "[allocations][gemm]") {
    SECTION("W1, float") {
        const Counts counts = steady_state<float>(w1_sizes, 64, 5);
        CHECK(counts.new_calls == 0);
        CHECK(counts.eigen_mallocs == 0);
    }
    SECTION("W1, double") {
        const Counts counts = steady_state<double>(w1_sizes, 64, 2);
        CHECK(counts.new_calls == 0);
        CHECK(counts.eigen_mallocs == 0);
    }
    SECTION("W2, float") {
        const Counts counts = steady_state<float>(w2_sizes, 256, 1);
        CHECK(counts.new_calls == 0);
        CHECK(counts.eigen_mallocs == 0);
    }
    SECTION("W1 and W2 on a second thread") {
        Counts w1;
        Counts w2;
        std::thread worker([&] {
            w1 = steady_state<float>(w1_sizes, 64, 2);
            w2 = steady_state<float>(w2_sizes, 256, 1);
        });
        worker.join();
        CHECK(w1.total() == 0);
        CHECK(w2.total() == 0);
    }
    CHECK(nabla_alloc_test::other_asserts == 0);
}

TEST_CASE("allocations: the measured products computed what they claim", "[allocations][gemm]") {
    // The passes counted above did real work: after one, z = W a, ∂C/∂W = (1/n) δ aᵀ (from the
    // data-parallel slices, the last to write it) and (W)ᵀ δ of every W1 layer are the plain
    // sums, within the dot-product error bound (k + 2) ε Σ|terms|, on a few rows and columns.
    StepProducts<double> step(w1_sizes, 64);
    step.run();
    const double eps = std::numeric_limits<double>::epsilon();
    const auto within = [eps](double got, const std::vector<double>& terms, double alpha) {
        double sum = 0;
        double magnitude = 0;
        for (double t : terms) {
            sum += t;
            magnitude += std::abs(t);
        }
        // The reference's own rounding is bounded the same way: twice the bound covers both.
        const double bound = 2 * double(terms.size() + 2) * eps * std::abs(alpha) * magnitude;
        return std::abs(got - alpha * sum) <= bound;
    };
    for (std::size_t l = 0; l < step.w.size(); ++l) {
        CAPTURE(l);
        const Index out = step.w[l].rows();
        const Index in = step.w[l].cols();
        std::vector<double> terms;
        for (Index i : {Index(0), out / 2, out - 1}) {
            for (Index j : {Index(0), Index(33), Index(63)}) {
                CAPTURE(i, j);
                terms.clear();
                for (Index k = 0; k < in; ++k) terms.push_back(step.w[l](i, k) * step.a[l](k, j));
                CHECK(within(step.z[l](i, j), terms, 1.0));
                const Index col = (j * 7) % in;
                terms.clear();
                for (Index s = 0; s < 64; ++s)
                    terms.push_back(step.delta[l](i, s) * step.a[l](col, s));
                CHECK(within(step.dw[l](i, col), terms, 1.0 / 64));
            }
        }
        for (Index i : {Index(0), in / 2, in - 1}) {
            for (Index j : {Index(0), Index(63)}) {
                CAPTURE(i, j);
                terms.clear();
                for (Index k = 0; k < out; ++k)
                    terms.push_back(step.w[l](k, i) * step.delta[l](k, j));
                CHECK(within(step.da[l](i, j), terms, 1.0));
            }
        }
    }
}
