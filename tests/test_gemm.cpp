// detail::gemm against a plain triple loop in long double: every transposition, blocks with
// outer strides, accumulate on and off, α, float and double, sizes on Eigen's coefficient-based,
// GEMV and GEMM paths, and several threads at once.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/detail/gemm.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <limits>
#include <thread>
#include <type_traits>
#include <vector>

namespace test_gemm {  // named for the unity build of nabla_tests

namespace {

using nabla::detail::gemm;
using nabla::detail::GemmKernelFits;
using nabla_test::random_matrix;
using Index = Eigen::Index;

/// The worst |got − exact| / bound over the entries (i, j) of `entries`, where exact is
/// before(i, j)·[accumulate] + α Σₖ L(i, k) R(k, j) summed in long double and bound is the
/// classical error bound of a floating-point dot product, (k + 2) ε (|before| + |α| Σₖ |L R|):
/// k roundings in the sum (whatever the order, with or without fused multiply-adds), one for the
/// scaling by α and one for the addition to dst. A value ≤ 1 is within the bound.
template <class Got, class Before, class L, class R>
double worst_error(const Got& got, const Before& before, const L& lhs, const R& rhs,
                   typename Got::Scalar alpha, bool accumulate,
                   const std::vector<std::pair<Index, Index>>& entries) {
    using Scalar = typename Got::Scalar;
    const Index depth = lhs.cols();
    const long double eps = std::numeric_limits<Scalar>::epsilon();
    double worst = 0;
    for (const auto& [i, j] : entries) {
        long double sum = 0;
        long double magnitude = 0;
        for (Index k = 0; k < depth; ++k) {
            const long double term = static_cast<long double>(lhs(i, k)) * rhs(k, j);
            sum += term;
            magnitude += std::fabs(term);
        }
        long double exact = static_cast<long double>(alpha) * sum;
        long double scale = std::fabs(static_cast<long double>(alpha)) * magnitude;
        if (accumulate) {
            exact += before(i, j);
            scale += std::fabs(static_cast<long double>(before(i, j)));
        }
        const long double bound = (depth + 2) * eps * scale;
        const long double error = std::fabs(static_cast<long double>(got(i, j)) - exact);
        // An exact zero (depth 0, or every term zero) must come out exactly.
        const double ratio = bound > 0 ? double(error / bound) : (error == 0 ? 0.0 : 1e30);
        if (!(ratio <= worst)) worst = ratio;  // NaN in got makes the ratio NaN: caught here
    }
    return worst;
}

/// Every entry of a rows × cols matrix.
std::vector<std::pair<Index, Index>> all_entries(Index rows, Index cols) {
    std::vector<std::pair<Index, Index>> entries;
    for (Index j = 0; j < cols; ++j)
        for (Index i = 0; i < rows; ++i) entries.emplace_back(i, j);
    return entries;
}

/// For the large products, whose full triple loop is too slow for a unit test: whole rows and
/// columns at both ends, across block boundaries and in between, plus a scatter of others.
std::vector<std::pair<Index, Index>> sampled_entries(Index rows, Index cols) {
    std::vector<std::pair<Index, Index>> entries;
    for (Index j : {Index(0), cols / 3, cols - 1})
        for (Index i = 0; i < rows; ++i) entries.emplace_back(i, j);
    for (Index i : {Index(0), rows / 2 + 1, rows - 1})
        for (Index j = 0; j < cols; ++j) entries.emplace_back(i, j);
    nabla::Rng rng(99);
    for (int s = 0; s < 400; ++s)
        entries.emplace_back(Index(rng.uniform(0, double(rows))) % rows,
                             Index(rng.uniform(0, double(cols))) % cols);
    return entries;
}

std::vector<std::pair<Index, Index>> entries_for(Index rows, Index cols, Index depth) {
    return rows * cols * depth <= 10'000'000 ? all_entries(rows, cols)
                                            : sampled_entries(rows, cols);
}

/// The four ways to give gemm its operands, each from stored matrices of the right shape.
enum class Form { nn, nt, tn, tt };

const char* form_name(Form form) {
    switch (form) {
        case Form::nn: return "A B";
        case Form::nt: return "A B^T";
        case Form::tn: return "A^T B";
        case Form::tt: return "A^T B^T";
    }
    return "?";
}

/// Runs gemm(dst, op(A), op(B), α, accumulate) on plain matrices for one size and form, checks
/// it against the triple loop and, entry for entry, against Eigen's own product.
template <class Scalar>
void check_plain(Index rows, Index depth, Index cols, Form form, Scalar alpha, bool accumulate,
                 std::uint64_t seed) {
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    CAPTURE(rows, depth, cols, form_name(form), alpha, accumulate, sizeof(Scalar));
    const bool lhs_t = form == Form::tn || form == Form::tt;
    const bool rhs_t = form == Form::nt || form == Form::tt;
    const Matrix a = lhs_t ? random_matrix<Matrix>(depth, rows, seed)
                           : random_matrix<Matrix>(rows, depth, seed);
    const Matrix b = rhs_t ? random_matrix<Matrix>(cols, depth, seed + 1)
                           : random_matrix<Matrix>(depth, cols, seed + 1);
    const Matrix lhs = lhs_t ? Matrix(a.transpose()) : a;
    const Matrix rhs = rhs_t ? Matrix(b.transpose()) : b;
    const Matrix before = random_matrix<Matrix>(rows, cols, seed + 2);
    Matrix got = accumulate ? before : Matrix();
    Matrix eigen = before;

    switch (form) {
        case Form::nn: gemm(got, a, b, alpha, accumulate); break;
        case Form::nt: gemm(got, a, b.transpose(), alpha, accumulate); break;
        case Form::tn: gemm(got, a.transpose(), b, alpha, accumulate); break;
        case Form::tt: gemm(got, a.transpose(), b.transpose(), alpha, accumulate); break;
    }
    // Eigen's own product of the same expression, the line gemm replaces in the layers.
    const auto eigen_product = [&](const auto& l, const auto& r) {
        if (accumulate)
            eigen.noalias() += alpha * l * r;
        else
            eigen.noalias() = alpha * l * r;
    };
    switch (form) {
        case Form::nn: eigen_product(a, b); break;
        case Form::nt: eigen_product(a, b.transpose()); break;
        case Form::tn: eigen_product(a.transpose(), b); break;
        case Form::tt: eigen_product(a.transpose(), b.transpose()); break;
    }

    REQUIRE(got.rows() == rows);
    REQUIRE(got.cols() == cols);
    CHECK(worst_error(got, before, lhs, rhs, alpha, accumulate,
                      entries_for(rows, cols, depth)) <= 1.0);
    // Eigen's product runs the same code on the same blocks: the same numbers. A back end
    // (NABLA_GEMM) sums in an order of its own, held to the bound above only.
    if constexpr (!nabla::detail::backend_takes<Scalar>)
        CHECK(got == eigen);
}

}  // namespace

TEST_CASE("gemm: every form, size, alpha and accumulate against a triple loop", "[gemm]") {
    // 1 and 3: coefficient-based (rows + cols + depth < 20); 17 and up: Eigen's GEMM kernel.
    const std::vector<Index> sizes = {1, 3, 17, 64, 200};
    std::uint64_t seed = 1;
    for (Index n : sizes) {
        for (Form form : {Form::nn, Form::nt, Form::tn, Form::tt}) {
            for (bool accumulate : {false, true}) {
                check_plain<double>(n, n, n, form, 1.0, accumulate, seed);
                check_plain<double>(n, n, n, form, -0.375, accumulate, seed + 3);
                check_plain<float>(n, n, n, form, 1.0f, accumulate, seed + 6);
                check_plain<float>(n, n, n, form, 1.0f / 64, accumulate, seed + 9);
                seed += 12;
            }
        }
    }
}

TEST_CASE("gemm: uneven shapes, single rows and columns (GEMV), empty depth", "[gemm]") {
    struct Shape {
        Index rows, depth, cols;
    };
    const std::vector<Shape> shapes = {
        {1, 300, 40},  // one row: GEMV
        {40, 300, 1},  // one column: GEMV
        {2, 2, 30},    // thin, but the kernel
        {33, 1, 29},   // depth 1: a rank-one update through the kernel
        {5, 7, 6},     // 18 < 20: coefficient-based
        {7, 0, 9},     // empty depth: dst = 0, or unchanged when accumulating
        {131, 67, 45},
    };
    std::uint64_t seed = 500;
    for (const Shape& s : shapes) {
        for (Form form : {Form::nn, Form::nt, Form::tn}) {
            for (bool accumulate : {false, true}) {
                check_plain<double>(s.rows, s.depth, s.cols, form, 0.5, accumulate, seed);
                check_plain<float>(s.rows, s.depth, s.cols, form, 2.0f, accumulate, seed + 3);
                seed += 6;
            }
        }
    }
}

TEST_CASE("gemm: the shapes of a 784-256-128-10 step and of a 1024-wide layer", "[gemm]") {
    // z = W a, ∂C/∂W = (1/n) δ aᵀ and Wᵀ δ for W 256 × 784 with a batch of 64, and for W
    // 1024 × 1024 with a batch of 256.
    struct Layer {
        Index outputs, inputs, batch;
    };
    std::uint64_t seed = 900;
    for (const Layer& l : {Layer{256, 784, 64}, Layer{1024, 1024, 256}}) {
        CAPTURE(l.outputs, l.inputs, l.batch);
        check_plain<float>(l.outputs, l.inputs, l.batch, Form::nn, 1.0f, false, seed);
        check_plain<float>(l.outputs, l.batch, l.inputs, Form::nt, 1.0f / float(l.batch), false,
                           seed + 3);
        check_plain<float>(l.inputs, l.outputs, l.batch, Form::tn, 1.0f, false, seed + 6);
        check_plain<double>(l.outputs, l.inputs, l.batch, Form::nn, 1.0, true, seed + 9);
        check_plain<double>(l.outputs, l.batch, l.inputs, Form::nt, 1.0 / double(l.batch), true,
                            seed + 12);
        check_plain<double>(l.inputs, l.outputs, l.batch, Form::tn, 1.0, false, seed + 15);
        seed += 18;
    }
}

namespace {

/// The gradient slice of a data-parallel step: dW.middleCols(c, nc) (=|+=) (1/n) δ
/// a.middleRows(c, nc)ᵀ, every operand a block with an outer stride larger than its rows, and
/// the entries of the parent matrix outside the block untouched.
template <class Scalar>
void check_blocks(Index outputs, Index inputs, Index shard, Index c, Index nc, bool accumulate) {
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    CAPTURE(outputs, inputs, shard, c, nc, accumulate, sizeof(Scalar));
    // δ is itself a block of a taller matrix, so every operand has an outer stride of its own.
    const Matrix delta_parent = random_matrix<Matrix>(outputs + 5, shard + 2, 31);
    const Matrix input = random_matrix<Matrix>(inputs, shard, 32);
    const Matrix dw_before = random_matrix<Matrix>(outputs, inputs, 33);
    Matrix dw = dw_before;
    const Scalar alpha = Scalar(1) / Scalar(shard);

    const Eigen::Block<const Matrix> delta = delta_parent.block(3, 1, outputs, shard);
    const Eigen::Block<const Matrix> input_rows = input.middleRows(c, nc);
    gemm(dw.middleCols(c, nc), delta, input_rows.transpose(), alpha, accumulate);

    const Matrix lhs = delta;
    const Matrix rhs = input_rows.transpose();
    const Matrix got = dw.middleCols(c, nc);
    const Matrix before = dw_before.middleCols(c, nc);
    CHECK(worst_error(got, before, lhs, rhs, alpha, accumulate, entries_for(outputs, nc, shard)) <=
          1.0);
    CHECK(dw.leftCols(c) == dw_before.leftCols(c));
    CHECK(dw.rightCols(inputs - c - nc) == dw_before.rightCols(inputs - c - nc));

    // The same slice as Wᵀ δ would see it: a block of rows of Wᵀ, i.e. W.middleCols(c, nc)ᵀ,
    // into a block of rows of the destination.
    const Matrix w = random_matrix<Matrix>(outputs, inputs, 34);
    const Matrix da_before = random_matrix<Matrix>(inputs, shard + 3, 35);
    Matrix da = da_before;
    Eigen::Block<Matrix> da_rows = da.block(c, 2, nc, shard);
    gemm(da_rows, w.middleCols(c, nc).transpose(), delta, Scalar(1), accumulate);
    const Matrix w_lhs = w.middleCols(c, nc).transpose();
    const Matrix da_got = da.block(c, 2, nc, shard);
    CHECK(worst_error(da_got, Matrix(da_before.block(c, 2, nc, shard)), w_lhs, lhs, Scalar(1),
                      accumulate, entries_for(nc, shard, outputs)) <= 1.0);
    Matrix outside = da;
    outside.block(c, 2, nc, shard) = da_before.block(c, 2, nc, shard);
    CHECK(outside == da_before);
}

}  // namespace

TEST_CASE("gemm: blocks with outer strides, as a data-parallel slice uses them", "[gemm]") {
    for (bool accumulate : {false, true}) {
        check_blocks<float>(256, 784, 32, 392, 392, accumulate);  // W1 layer 1, half of 2 threads
        check_blocks<double>(256, 784, 32, 0, 392, accumulate);
        check_blocks<float>(10, 128, 21, 64, 64, accumulate);
        check_blocks<double>(128, 256, 11, 85, 86, accumulate);  // odd sizes: 256 / 3 threads
        check_blocks<double>(4, 9, 3, 2, 3, accumulate);         // coefficient-based
    }
}

TEST_CASE("gemm: what cannot take Eigen's kernel goes through Eigen's product", "[gemm]") {
    using MatrixXd = Eigen::MatrixXd;
    using RowMajorXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using Strided = Eigen::Map<const MatrixXd, 0, Eigen::Stride<Eigen::Dynamic, 2>>;

    // The types that take the kernel, and those that cannot.
    STATIC_REQUIRE(GemmKernelFits<MatrixXd, MatrixXd, MatrixXd>::value);
    STATIC_REQUIRE(GemmKernelFits<Eigen::Block<MatrixXd>, Eigen::Transpose<const MatrixXd>,
                                  Eigen::Block<const MatrixXd>>::value);
    using RowsOfXf = Eigen::Block<const Eigen::MatrixXf>;  // what middleRows gives
    STATIC_REQUIRE(GemmKernelFits<Eigen::MatrixXf, Eigen::MatrixXf,
                                  Eigen::Transpose<const RowsOfXf>>::value);
    STATIC_REQUIRE_FALSE(GemmKernelFits<Eigen::Matrix3d, Eigen::Matrix3d, Eigen::Matrix3d>::value);
    STATIC_REQUIRE_FALSE(GemmKernelFits<MatrixXd, MatrixXd, Strided>::value);
    STATIC_REQUIRE_FALSE(GemmKernelFits<RowMajorXd, MatrixXd, MatrixXd>::value);
    STATIC_REQUIRE_FALSE(GemmKernelFits<MatrixXd, MatrixXd, Eigen::VectorXd>::value);
    STATIC_REQUIRE_FALSE(GemmKernelFits<Eigen::MatrixXi, Eigen::MatrixXi, Eigen::MatrixXi>::value);

    // And they still compute the right thing.
    const MatrixXd a = random_matrix<MatrixXd>(40, 30, 71);
    const MatrixXd storage = random_matrix<MatrixXd>(30, 2 * 25, 72);
    const Strided b(storage.data(), 30, 25, Eigen::Stride<Eigen::Dynamic, 2>(60, 2));
    const MatrixXd b_plain = b;
    MatrixXd got;
    gemm(got, a, b, 0.25, false);
    CHECK(worst_error(got, got, a, b_plain, 0.25, false, all_entries(40, 25)) <= 1.0);

    RowMajorXd row_major = RowMajorXd::Ones(40, 25);
    gemm(row_major, a, b_plain, -1.0, true);
    CHECK(worst_error(row_major, RowMajorXd(RowMajorXd::Ones(40, 25)), a, b_plain, -1.0, true,
                      all_entries(40, 25)) <= 1.0);

    const Eigen::Matrix3d f = (Eigen::Matrix3d() << 1, 2, 3, 4, 5, 6, 7, 8, 10).finished();
    Eigen::Matrix3d fixed_product;
    gemm(fixed_product, f, f.transpose(), 2.0, false);
    Eigen::Matrix3d by_hand;  // 2 F Fᵀ, entry by entry
    by_hand << 28, 64, 106,
               64, 154, 256,
               106, 256, 426;
    CHECK(fixed_product == by_hand);

    const Eigen::MatrixXi ia = Eigen::MatrixXi::Constant(30, 30, 2);
    Eigen::MatrixXi ic = Eigen::MatrixXi::Constant(30, 30, 1);
    gemm(ic, ia, ia, 3, true);
    CHECK(ic == Eigen::MatrixXi::Constant(30, 30, 1 + 3 * 30 * 4));
}

TEST_CASE("gemm: the scratch holds only the blocks Eigen would take from the heap", "[gemm]") {
    // A fresh thread starts with no scratch. Coefficient-based and GEMV products never pack;
    // a kernel product whose packed blocks fit EIGEN_STACK_ALLOCATION_LIMIT keeps them on the
    // stack; a larger one puts them in the scratch, which is then kept. In float, unless a back
    // end (NABLA_GEMM) takes float products: then in double, which Eigen's kernel still runs.
    // A back end that takes both (openblas, blis) packs in its own memory: the scratch must
    // then stay empty.
    using Scalar = std::conditional_t<nabla::detail::backend_takes<float>, double, float>;
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    constexpr bool eigen_kernel = !nabla::detail::backend_takes<Scalar>;
#ifdef EIGEN_HAS_OPENMP
    // Built with OpenMP, Eigen would split these products across threads, and gemm leaves such
    // products to Eigen: one thread for Eigen keeps them on gemm's own path.
    const int eigen_threads = Eigen::nbThreads();
    Eigen::setNbThreads(1);
#endif
    std::size_t after_small = 1;
    std::size_t after_gemv = 1;
    std::size_t after_stack_kernel = 1;
    std::size_t after_kernel = 0;
    std::size_t after_smaller_kernel = 0;
    std::thread worker([&] {
        Matrix c;
        const Matrix a = Matrix::Ones(3, 3);
        gemm(c, a, a, Scalar(1), false);
        after_small = nabla::detail::gemm_scratch().capacity();
        const Matrix w = Matrix::Ones(300, 300);
        const Matrix v = Matrix::Ones(300, 1);
        gemm(c, w, v, Scalar(1), false);
        after_gemv = nabla::detail::gemm_scratch().capacity();
        const Matrix m = Matrix::Ones(64, 64);  // 16 KB per operand in float, 32 KB in double
        gemm(c, m, m, Scalar(1), false);
        after_stack_kernel = nabla::detail::gemm_scratch().capacity();
        gemm(c, w, w, Scalar(1), false);  // 352 KB per operand in float, 703 KB in double
        after_kernel = nabla::detail::gemm_scratch().capacity();
        gemm(c, a, w.topRows(3), Scalar(1), false);
        after_smaller_kernel = nabla::detail::gemm_scratch().capacity();
    });
    worker.join();
#ifdef EIGEN_HAS_OPENMP
    Eigen::setNbThreads(eigen_threads);
#endif
    CHECK(after_small == 0);
    CHECK(after_gemv == 0);
    CHECK(after_stack_kernel == 0);
    if (eigen_kernel) {
        CHECK(after_kernel > std::size_t(EIGEN_STACK_ALLOCATION_LIMIT));
        CHECK(after_smaller_kernel == after_kernel);  // kept, not shrunk
    } else {
        CHECK(after_kernel == 0);
        CHECK(after_smaller_kernel == 0);
    }
}

TEST_CASE("gemm: threads computing at once each get their own buffers", "[gemm]") {
    // Two threads run products of different shapes in a loop at the same time; with a shared
    // buffer their packed blocks would overwrite each other.
    using Matrix = Eigen::MatrixXf;
    const Matrix w1 = random_matrix<Matrix>(256, 784, 81);
    const Matrix x1 = random_matrix<Matrix>(784, 64, 82);
    const Matrix w2 = random_matrix<Matrix>(300, 200, 83);
    const Matrix x2 = random_matrix<Matrix>(300, 90, 84);
    // Computed here, on this thread, by the same gemm: Eigen's product gives the same bits, a
    // back end (NABLA_GEMM) the same bits on each run.
    Matrix want1;
    Matrix want2;
    gemm(want1, w1, x1, 1.0f, false);
    gemm(want2, w2.transpose(), x2, 1.0f, false);

    int bad1 = 0;
    int bad2 = 0;
    std::thread first([&] {
        Matrix z;
        for (int r = 0; r < 30; ++r) {
            gemm(z, w1, x1, 1.0f, false);
            if (z != want1) ++bad1;
        }
    });
    std::thread second([&] {
        Matrix z;
        for (int r = 0; r < 60; ++r) {
            gemm(z, w2.transpose(), x2, 1.0f, false);
            if (z != want2) ++bad2;
        }
    });
    first.join();
    second.join();
    CHECK(bad1 == 0);
    CHECK(bad2 == 0);
}

}  // namespace test_gemm
