// The two worked examples of the notes (section "5. Numerical Example"), run through nabla.
//
// Every intermediate of the forward and backward pass (and the cost and the input gradient
// (W¹)ᵀδ¹, which the notes do not print) is checked to 1e-12 against values this file computes
// entry by entry with scalar arithmetic from the documented inputs: no Eigen product, no library
// call. A DynamicNetwork given the same parameters must agree with the fixed-size Network: bit
// for bit up to the first exp, to an ulp after it (see check_same_trace).
//
// Then the numbers the notes print. Those the notes get right must equal the exact value rounded
// to the printed decimals; every misprint is pinned down as a checked fact: the exact value, its
// correct rounding, and that the printed number is not it. docs/errata.md lists them all.

#include "catch.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

namespace test_worked_examples {  // named for the unity build of nabla_tests

namespace {

using Matrix = Eigen::MatrixXd;

/// Both examples compute in double from short decimal inputs; the largest value is below 1, so
/// 1e-12 absolute leaves ~4 orders of magnitude over the few ulps that summation order and a
/// vectorised exp can move a result, and is far below any misprint (≥ 1e-5).
constexpr double tolerance = 1e-12;

/// σ(z) = 1 / (1 + e^−z), as the notes define it.
double sigmoid(double z) {
    return 1.0 / (1.0 + std::exp(-z));
}

/// A matrix from its rows, e.g. rows_of({{0.1, 0.3}, {0.2, 0.4}}); a column is {{a}, {b}}.
Matrix rows_of(std::initializer_list<std::initializer_list<double>> rows) {
    Matrix m(Eigen::Index(rows.size()), Eigen::Index(rows.begin()->size()));
    Eigen::Index j = 0;
    for (const auto& row : rows) {
        Eigen::Index k = 0;
        for (double value : row)
            m(j, k++) = value;
        ++j;
    }
    return m;
}

/// A column vector from its entries.
Matrix column(std::initializer_list<double> entries) {
    Matrix m(Eigen::Index(entries.size()), 1);
    Eigen::Index j = 0;
    for (double value : entries)
        m(j++, 0) = value;
    return m;
}

/// The documented inputs of one example.
struct Inputs {
    Matrix x, y, w1, b1, w2, b2;
};

/// Every quantity of one forward + backward pass, in the shapes of the workspace (vectors are
/// columns, ∇W is outputs × inputs).
struct Trace {
    Matrix z1, a1, z2, a2;
    double cost = 0;
    Matrix dc_da2;        // ∂C/∂a² = a² − y
    Matrix sigma_prime2;  // σ'(z²)
    Matrix delta2;        // δ², equation (1)
    Matrix w2t_delta2;    // (W²)ᵀδ²
    Matrix sigma_prime1;  // σ'(z¹)
    Matrix delta1;        // δ¹, equation (4)
    // ∇W², ∇b², ∇W¹, ∇b¹: equations (3), (2), (6), (5)
    Matrix grad_w2, grad_b2, grad_w1, grad_b1;
    Matrix grad_x;  // ∂C/∂x = (W¹)ᵀδ¹
};

// --- example 1: [2, 2, 1], C = ½(a − y)² ---------------------------------------------------------

Inputs example1_inputs() {
    Inputs in;
    in.x = column({1.0, 0.5});
    in.y = column({0.8});
    in.w1 = rows_of({{0.1, 0.3}, {0.2, 0.4}});
    in.b1 = column({0.1, -0.1});
    in.w2 = rows_of({{0.7, -1.2}});
    in.b2 = column({0.05});
    return in;
}

/// Example 1 by hand, each entry written out as the notes write it.
Trace example1_by_hand() {
    const double z1_1 = 0.1 * 1.0 + 0.3 * 0.5 + 0.1;
    const double z1_2 = 0.2 * 1.0 + 0.4 * 0.5 - 0.1;
    const double a1_1 = sigmoid(z1_1);
    const double a1_2 = sigmoid(z1_2);
    const double z2 = 0.7 * a1_1 - 1.2 * a1_2 + 0.05;
    const double a2 = sigmoid(z2);
    const double dc_da2 = a2 - 0.8;
    const double sigma_prime2 = a2 * (1 - a2);
    const double delta2 = dc_da2 * sigma_prime2;
    const double back_1 = 0.7 * delta2;
    const double back_2 = -1.2 * delta2;
    const double sigma_prime1_1 = a1_1 * (1 - a1_1);
    const double sigma_prime1_2 = a1_2 * (1 - a1_2);
    const double delta1_1 = back_1 * sigma_prime1_1;
    const double delta1_2 = back_2 * sigma_prime1_2;

    Trace t;
    t.z1 = column({z1_1, z1_2});
    t.a1 = column({a1_1, a1_2});
    t.z2 = column({z2});
    t.a2 = column({a2});
    t.cost = 0.5 * (a2 - 0.8) * (a2 - 0.8);
    t.dc_da2 = column({dc_da2});
    t.sigma_prime2 = column({sigma_prime2});
    t.delta2 = column({delta2});
    t.w2t_delta2 = column({back_1, back_2});
    t.sigma_prime1 = column({sigma_prime1_1, sigma_prime1_2});
    t.delta1 = column({delta1_1, delta1_2});
    t.grad_w2 = rows_of({{delta2 * a1_1, delta2 * a1_2}});
    t.grad_b2 = column({delta2});
    t.grad_w1 = rows_of({{delta1_1 * 1.0, delta1_1 * 0.5}, {delta1_2 * 1.0, delta1_2 * 0.5}});
    t.grad_b1 = column({delta1_1, delta1_2});
    t.grad_x = column({0.1 * delta1_1 + 0.2 * delta1_2, 0.3 * delta1_1 + 0.4 * delta1_2});
    return t;
}

using Example1Net =
    nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 2, 2, nabla::Sigmoid>,
                   nabla::Dense<double, 2, 1, nabla::Sigmoid>>;

// --- example 2: [2, 3, 2], C = ½‖a − y‖² ---------------------------------------------------------

Inputs example2_inputs() {
    Inputs in;
    in.x = column({0.9, 0.1});
    in.y = column({1.0, 0.0});
    in.w1 = rows_of({{0.1, 0.4}, {0.2, 0.3}, {0.5, -0.1}});
    in.b1 = column({0.1, -0.1, 0.2});
    in.w2 = rows_of({{0.3, -0.7, 0.2}, {0.6, 0.1, -0.5}});
    in.b2 = column({0.05, -0.05});
    return in;
}

/// Example 2 by hand, each entry written out as the notes write it.
Trace example2_by_hand() {
    const double z1_1 = 0.1 * 0.9 + 0.4 * 0.1 + 0.1;
    const double z1_2 = 0.2 * 0.9 + 0.3 * 0.1 - 0.1;
    const double z1_3 = 0.5 * 0.9 + (-0.1) * 0.1 + 0.2;
    const double a1_1 = sigmoid(z1_1);
    const double a1_2 = sigmoid(z1_2);
    const double a1_3 = sigmoid(z1_3);
    const double z2_1 = 0.3 * a1_1 - 0.7 * a1_2 + 0.2 * a1_3 + 0.05;
    const double z2_2 = 0.6 * a1_1 + 0.1 * a1_2 - 0.5 * a1_3 - 0.05;
    const double a2_1 = sigmoid(z2_1);
    const double a2_2 = sigmoid(z2_2);
    const double dc_da2_1 = a2_1 - 1.0;
    const double dc_da2_2 = a2_2 - 0.0;
    const double sigma_prime2_1 = a2_1 * (1 - a2_1);
    const double sigma_prime2_2 = a2_2 * (1 - a2_2);
    const double delta2_1 = dc_da2_1 * sigma_prime2_1;
    const double delta2_2 = dc_da2_2 * sigma_prime2_2;
    const double back_1 = 0.3 * delta2_1 + 0.6 * delta2_2;  // column k of W² dotted with δ²
    const double back_2 = -0.7 * delta2_1 + 0.1 * delta2_2;
    const double back_3 = 0.2 * delta2_1 - 0.5 * delta2_2;
    const double sigma_prime1_1 = a1_1 * (1 - a1_1);
    const double sigma_prime1_2 = a1_2 * (1 - a1_2);
    const double sigma_prime1_3 = a1_3 * (1 - a1_3);
    const double delta1_1 = back_1 * sigma_prime1_1;
    const double delta1_2 = back_2 * sigma_prime1_2;
    const double delta1_3 = back_3 * sigma_prime1_3;

    Trace t;
    t.z1 = column({z1_1, z1_2, z1_3});
    t.a1 = column({a1_1, a1_2, a1_3});
    t.z2 = column({z2_1, z2_2});
    t.a2 = column({a2_1, a2_2});
    t.cost = 0.5 * (dc_da2_1 * dc_da2_1 + dc_da2_2 * dc_da2_2);
    t.dc_da2 = column({dc_da2_1, dc_da2_2});
    t.sigma_prime2 = column({sigma_prime2_1, sigma_prime2_2});
    t.delta2 = column({delta2_1, delta2_2});
    t.w2t_delta2 = column({back_1, back_2, back_3});
    t.sigma_prime1 = column({sigma_prime1_1, sigma_prime1_2, sigma_prime1_3});
    t.delta1 = column({delta1_1, delta1_2, delta1_3});
    t.grad_w2 = rows_of({{delta2_1 * a1_1, delta2_1 * a1_2, delta2_1 * a1_3},
                         {delta2_2 * a1_1, delta2_2 * a1_2, delta2_2 * a1_3}});
    t.grad_b2 = column({delta2_1, delta2_2});
    t.grad_w1 = rows_of({{delta1_1 * 0.9, delta1_1 * 0.1},
                         {delta1_2 * 0.9, delta1_2 * 0.1},
                         {delta1_3 * 0.9, delta1_3 * 0.1}});
    t.grad_b1 = column({delta1_1, delta1_2, delta1_3});
    t.grad_x = column({0.1 * delta1_1 + 0.2 * delta1_2 + 0.5 * delta1_3,
                       0.4 * delta1_1 + 0.3 * delta1_2 - 0.1 * delta1_3});
    return t;
}

using Example2Net =
    nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 2, 3, nabla::Sigmoid>,
                   nabla::Dense<double, 3, 2, nabla::Sigmoid>>;

using DynamicNet = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;

// --- running the library -------------------------------------------------------------------------

/// Gives a two-layer network (static or dynamic) the documented W and b.
template <class Net>
void set_parameters(Net& net, const Inputs& in) {
    net.layer(net.first_index()).set_weights(in.w1);
    net.layer(net.first_index()).set_bias(in.b1);
    net.layer(net.last_index()).set_weights(in.w2);
    net.layer(net.last_index()).set_bias(in.b2);
}

/// One backward pass of a two-layer sigmoid network, and everything it leaves in the workspace.
/// σ'(z) is not stored by the library, so it is read through Sigmoid::derivative on the stored
/// z and a.
template <class Net, class Workspace>
Trace run_library(const Net& net, const Inputs& in, Workspace& ws) {
    Trace t;
    t.cost = net.backward(in.x, in.y, ws);
    const auto& hidden = ws.layer(net.first_index());
    const auto& output = ws.layer(net.last_index());
    const nabla::Sigmoid sigmoid;
    t.z1 = hidden.z;
    t.a1 = hidden.a;
    t.z2 = output.z;
    t.a2 = output.a;
    t.dc_da2 = output.da;
    t.sigma_prime2 = sigmoid.derivative(output.z, output.a).matrix();
    t.delta2 = output.delta;
    t.w2t_delta2 = hidden.da;
    t.sigma_prime1 = sigmoid.derivative(hidden.z, hidden.a).matrix();
    t.delta1 = hidden.delta;
    t.grad_w2 = output.dW;
    t.grad_b2 = output.db;
    t.grad_w1 = hidden.dW;
    t.grad_b1 = hidden.db;
    t.grad_x = net.input_gradient(ws);
    return t;
}

/// The fixed-size network of an example, with its documented parameters.
template <class Net>
Trace run_fixed(const Inputs& in) {
    Net net;
    set_parameters(net, in);
    typename Net::template Workspace<1> ws;
    return run_library(net, in, ws);
}

/// The same example through a DynamicNetwork of the given sizes.
Trace run_dynamic(const Inputs& in, const std::vector<Eigen::Index>& sizes) {
    DynamicNet net(sizes, {nabla::Sigmoid{}, nabla::Sigmoid{}});
    set_parameters(net, in);
    DynamicNet::Workspace<1> ws;
    return run_library(net, in, ws);
}

// --- comparing -----------------------------------------------------------------------------------

/// |actual − expected| ≤ bound entry by entry; bound 0 means bit for bit.
void check_within(const std::string& what, const Matrix& actual, const Matrix& expected,
                  double bound) {
    INFO(what);
    REQUIRE(actual.rows() == expected.rows());
    REQUIRE(actual.cols() == expected.cols());
    for (Eigen::Index j = 0; j < expected.rows(); ++j) {
        for (Eigen::Index k = 0; k < expected.cols(); ++k) {
            CAPTURE(j, k, actual(j, k), expected(j, k));
            if (bound == 0)
                CHECK(actual(j, k) == expected(j, k));
            else
                CHECK(std::abs(actual(j, k) - expected(j, k)) <= bound);
        }
    }
}

/// |actual − expected| ≤ tolerance entry by entry.
void check_close(const std::string& what, const Matrix& actual, const Matrix& expected) {
    check_within(what, actual, expected, tolerance);
}

void check_forward(const Trace& lib, const Trace& hand) {
    check_close("z1", lib.z1, hand.z1);
    check_close("a1", lib.a1, hand.a1);
    check_close("z2", lib.z2, hand.z2);
    check_close("a2", lib.a2, hand.a2);
    CAPTURE(lib.cost, hand.cost);
    CHECK(std::abs(lib.cost - hand.cost) <= tolerance);
}

void check_backward(const Trace& lib, const Trace& hand) {
    check_close("dC/da2", lib.dc_da2, hand.dc_da2);
    check_close("sigma'(z2)", lib.sigma_prime2, hand.sigma_prime2);
    check_close("delta2", lib.delta2, hand.delta2);
    check_close("(W2)^T delta2", lib.w2t_delta2, hand.w2t_delta2);
    check_close("sigma'(z1)", lib.sigma_prime1, hand.sigma_prime1);
    check_close("delta1", lib.delta1, hand.delta1);
    check_close("dC/dW2", lib.grad_w2, hand.grad_w2);
    check_close("dC/db2", lib.grad_b2, hand.grad_b2);
    check_close("dC/dW1", lib.grad_w1, hand.grad_w1);
    check_close("dC/db1", lib.grad_b1, hand.grad_b1);
    check_close("dC/dx", lib.grad_x, hand.grad_x);
}

/// Network and DynamicNetwork run the same sums and products in the same order, so z¹ (the
/// affine step before any exp) must be bit-identical. From a¹ on they may differ by an ulp:
/// Eigen evaluates exp with its own vectorised kernel (pexp) on whole SIMD packets and with
/// std::exp on the scalar remainder, and the two differ in the last bit for about 14% of the
/// arguments in [−3, 3]. Which entries take which path depends on the vector's compile-time size
/// and the SIMD width: with -march=native on an AVX machine, the fixed 3-vector z¹ of example 2
/// goes partly through an SSE packet, the dynamic one (shorter than an AVX packet) wholly through
/// std::exp, and a¹₁ comes out 0x1.1d4f973e88aefp-1 in one and 0x1.1d4f973e88aeep-1 in the
/// other. All values here are below 1.2 in magnitude and meet only weights below 1.2, so an ulp
/// of a (1.1e-16) moves no result by as much as 1e-15.
constexpr double dynamic_tolerance = 1e-15;

void check_same_trace(const Trace& dynamic, const Trace& fixed) {
    check_within("z1", dynamic.z1, fixed.z1, 0);
    check_within("a1", dynamic.a1, fixed.a1, dynamic_tolerance);
    check_within("z2", dynamic.z2, fixed.z2, dynamic_tolerance);
    check_within("a2", dynamic.a2, fixed.a2, dynamic_tolerance);
    CAPTURE(dynamic.cost, fixed.cost);
    CHECK(std::abs(dynamic.cost - fixed.cost) <= dynamic_tolerance);
    check_within("dC/da2", dynamic.dc_da2, fixed.dc_da2, dynamic_tolerance);
    check_within("delta2", dynamic.delta2, fixed.delta2, dynamic_tolerance);
    check_within("(W2)^T delta2", dynamic.w2t_delta2, fixed.w2t_delta2, dynamic_tolerance);
    check_within("delta1", dynamic.delta1, fixed.delta1, dynamic_tolerance);
    check_within("dC/dW2", dynamic.grad_w2, fixed.grad_w2, dynamic_tolerance);
    check_within("dC/db2", dynamic.grad_b2, fixed.grad_b2, dynamic_tolerance);
    check_within("dC/dW1", dynamic.grad_w1, fixed.grad_w1, dynamic_tolerance);
    check_within("dC/db1", dynamic.grad_b1, fixed.grad_b1, dynamic_tolerance);
    check_within("dC/dx", dynamic.grad_x, fixed.grad_x, dynamic_tolerance);
}

// --- the printed numbers -------------------------------------------------------------------------

/// v in units of the last printed decimal, rounded half away from zero. Every exact value below
/// is at least 0.002 units away from a rounding boundary, so the rounding is not fragile.
long long units(double v, int decimals) {
    return std::llround(v * std::pow(10.0, decimals));
}

/// A number the notes print correctly: the exact value rounds to it.
struct Right {
    const char* what;
    double exact;
    double printed;
    int decimals;
};

void check_right(const Right& r) {
    CAPTURE(r.what, r.exact, r.printed, r.decimals);
    CHECK(units(r.exact, r.decimals) == units(r.printed, r.decimals));
}

/// A misprint: the exact value rounds to `correct`, and `printed` is something else.
struct Misprint {
    const char* what;
    double exact;
    double printed;
    double correct;
    int decimals;
};

void check_misprint(const Misprint& m) {
    CAPTURE(m.what, m.exact, m.printed, m.correct, m.decimals);
    CHECK(units(m.exact, m.decimals) == units(m.correct, m.decimals));
    CHECK(units(m.exact, m.decimals) != units(m.printed, m.decimals));
}

}  // namespace

// --- example 1 -----------------------------------------------------------------------------------

TEST_CASE("worked example 1: forward pass of the [2,2,1] net matches the hand computation",
          "[notes][worked_example]") {
    check_forward(run_fixed<Example1Net>(example1_inputs()), example1_by_hand());
}

TEST_CASE("worked example 1: backward pass of the [2,2,1] net matches the hand computation",
          "[notes][worked_example]") {
    check_backward(run_fixed<Example1Net>(example1_inputs()), example1_by_hand());
}

TEST_CASE("worked example 1: DynamicNetwork agrees with the fixed-size Network",
          "[notes][worked_example][dynamic]") {
    const Inputs in = example1_inputs();
    check_same_trace(run_dynamic(in, {2, 2, 1}), run_fixed<Example1Net>(in));
}

TEST_CASE("worked example 1: the numbers the notes print correctly round from the exact ones",
          "[notes][worked_example][errata]") {
    const Trace e = example1_by_hand();
    const Right right[] = {
        {"z1_1", e.z1(0), 0.35, 2},
        {"z1_2", e.z1(1), 0.3, 1},
        {"a1_1", e.a1(0), 0.5866, 4},
        {"a1_2", e.a1(1), 0.5744, 4},
        {"term 0.7 a1_1 of z2", 0.7 * e.a1(0), 0.4106, 4},
        {"term 1.2 a1_2 of z2", 1.2 * e.a1(1), 0.6893, 4},
        {"z2", e.z2(0), -0.2287, 4},
        {"a2", e.a2(0), 0.4431, 4},
        {"dC/da2", e.dc_da2(0), -0.3569, 4},
        {"sigma'(z1)_1", e.sigma_prime1(0), 0.2425, 4},
        {"sigma'(z1)_2", e.sigma_prime1(1), 0.2445, 4},
        {"delta1_2", e.delta1(1), 0.0258, 4},
        {"dC/dW1_12", e.grad_w1(0, 1), -0.0075, 4},
        {"dC/dW1_21", e.grad_w1(1, 0), 0.0258, 4},
        {"dC/dW1_22", e.grad_w1(1, 1), 0.0129, 4},
        {"dC/db1_2", e.grad_b1(1), 0.0258, 4},
    };
    for (const Right& r : right)
        check_right(r);
}

TEST_CASE("worked example 1: the notes' misprints are last-digit slips, checked as facts",
          "[notes][worked_example][errata]") {
    const Trace e = example1_by_hand();
    const Misprint misprints[] = {
        {"sigma'(z2)", e.sigma_prime2(0), 0.2467, 0.2468, 4},
        {"delta2", e.delta2(0), -0.0880, -0.0881, 4},
        {"((W2)^T delta2)_1", e.w2t_delta2(0), -0.0616, -0.0617, 4},
        {"((W2)^T delta2)_2", e.w2t_delta2(1), 0.1056, 0.1057, 4},
        {"delta1_1", e.delta1(0), -0.0149, -0.0150, 4},
        {"dC/dW2_11", e.grad_w2(0, 0), -0.0516, -0.0517, 4},
        {"dC/dW2_12", e.grad_w2(0, 1), -0.0505, -0.0506, 4},
        {"dC/db2", e.grad_b2(0), -0.0880, -0.0881, 4},
        {"dC/dW1_11", e.grad_w1(0, 0), -0.0149, -0.0150, 4},
        {"dC/db1_1", e.grad_b1(0), -0.0149, -0.0150, 4},
    };
    for (const Misprint& m : misprints) {
        check_misprint(m);
        // Example 1 has no real arithmetic error: every misprint is within one unit of the last
        // printed decimal, with the right sign.
        CAPTURE(m.what, m.exact, m.printed);
        CHECK(std::abs(m.printed - m.exact) < 1e-4);
        CHECK((m.printed < 0) == (m.exact < 0));
    }

    SECTION("the first slip: σ'(z²) from the notes' own a² = 0.4431 rounds to 0.2468, not 0.2467") {
        CHECK(units(0.4431 * (1 - 0.4431), 4) == 2468);
    }
    SECTION("the rest follows from it: the notes' −0.3569 · 0.2467 rounds to the printed δ²") {
        CHECK(units(-0.3569 * 0.2467, 4) == units(-0.0880, 4));
        CHECK(units(-0.3569 * 0.2468, 4) == units(-0.0881, 4));
    }
}

// --- example 2 -----------------------------------------------------------------------------------

TEST_CASE("worked example 2: forward pass of the [2,3,2] net matches the hand computation",
          "[notes][worked_example]") {
    check_forward(run_fixed<Example2Net>(example2_inputs()), example2_by_hand());
}

TEST_CASE("worked example 2: backward pass of the [2,3,2] net matches the hand computation",
          "[notes][worked_example]") {
    check_backward(run_fixed<Example2Net>(example2_inputs()), example2_by_hand());
}

TEST_CASE("worked example 2: DynamicNetwork agrees with the fixed-size Network",
          "[notes][worked_example][dynamic]") {
    const Inputs in = example2_inputs();
    check_same_trace(run_dynamic(in, {2, 3, 2}), run_fixed<Example2Net>(in));
}

TEST_CASE("worked example 2: the few numbers the notes print correctly round from the exact ones",
          "[notes][worked_example][errata]") {
    const Trace e = example2_by_hand();
    const Right right[] = {
        {"z1_2", e.z1(1), 0.11, 2},
        {"a1_2", e.a1(1), 0.5275, 4},
        {"sigma'(z1)_2", e.sigma_prime1(1), 0.2492, 4},
        {"grad W1_32", e.grad_w1(2, 1), -0.0020, 4},
    };
    for (const Right& r : right)
        check_right(r);
}

TEST_CASE("worked example 2: the notes' misprints, checked as facts",
          "[notes][worked_example][errata]") {
    const Trace e = example2_by_hand();

    SECTION("every other printed number is wrong") {
        const Misprint misprints[] = {
            {"z1_1", e.z1(0), 0.24, 0.23, 2},
            {"z1_3", e.z1(2), 0.63, 0.64, 2},
            {"a1_1", e.a1(0), 0.5597, 0.5572, 4},
            {"a1_3", e.a1(2), 0.6522, 0.6548, 4},
            {"z2_1", e.z2(0), 0.167, -0.021, 3},
            {"z2_2", e.z2(1), 0.069, 0.010, 3},
            {"a2_1", e.a2(0), 0.5417, 0.4947, 4},
            {"a2_2", e.a2(1), 0.5172, 0.5024, 4},
            {"(a2 - y)_1", e.dc_da2(0), -0.4583, -0.5053, 4},
            {"(a2 - y)_2", e.dc_da2(1), 0.5172, 0.5024, 4},
            {"sigma'(z2)_1", e.sigma_prime2(0), 0.2483, 0.2500, 4},
            {"sigma'(z2)_2", e.sigma_prime2(1), 0.2497, 0.2500, 4},
            {"delta2_1", e.delta2(0), -0.1138, -0.1263, 4},
            {"delta2_2", e.delta2(1), 0.1291, 0.1256, 4},
            {"grad W2_11", e.grad_w2(0, 0), -0.0637, -0.0704, 4},
            {"grad W2_12", e.grad_w2(0, 1), -0.0600, -0.0666, 4},
            {"grad W2_13", e.grad_w2(0, 2), -0.0743, -0.0827, 4},
            {"grad W2_21", e.grad_w2(1, 0), 0.0722, 0.0700, 4},
            {"grad W2_22", e.grad_w2(1, 1), 0.0681, 0.0663, 4},
            {"grad W2_23", e.grad_w2(1, 2), 0.0842, 0.0822, 4},
            {"grad b2_1", e.grad_b2(0), -0.1138, -0.1263, 4},
            {"grad b2_2", e.grad_b2(1), 0.1291, 0.1256, 4},
            {"((W2)^T delta2)_1", e.w2t_delta2(0), 0.0278, 0.0375, 4},
            {"((W2)^T delta2)_2", e.w2t_delta2(1), -0.0907, 0.1010, 4},
            {"((W2)^T delta2)_3", e.w2t_delta2(2), -0.0900, -0.0881, 4},
            {"sigma'(z1)_1", e.sigma_prime1(0), 0.2464, 0.2467, 4},
            {"sigma'(z1)_3", e.sigma_prime1(2), 0.2267, 0.2261, 4},
            {"delta1_1", e.delta1(0), 0.0069, 0.0092, 4},
            {"delta1_2", e.delta1(1), -0.0226, 0.0252, 4},
            {"delta1_3", e.delta1(2), -0.0204, -0.0199, 4},
            {"grad W1_11", e.grad_w1(0, 0), 0.0062, 0.0083, 4},
            {"grad W1_12", e.grad_w1(0, 1), 0.0007, 0.0009, 4},
            {"grad W1_21", e.grad_w1(1, 0), -0.0204, 0.0227, 4},
            {"grad W1_22", e.grad_w1(1, 1), -0.0023, 0.0025, 4},
            {"grad W1_31", e.grad_w1(2, 0), -0.0184, -0.0179, 4},
            {"grad b1_1", e.grad_b1(0), 0.0069, 0.0092, 4},
            {"grad b1_2", e.grad_b1(1), -0.0226, 0.0252, 4},
            {"grad b1_3", e.grad_b1(2), -0.0204, -0.0199, 4},
        };
        for (const Misprint& m : misprints)
            check_misprint(m);
    }

    SECTION("z¹: the printed sums evaluate to 0.23 and 0.64, not the printed 0.24 and 0.63") {
        CHECK(units(e.z1(0), 2) == 23);
        CHECK(units(e.z1(2), 2) == 64);
    }

    SECTION("a¹₃ = 0.6522 is neither σ(0.63) nor σ(0.64)") {
        CHECK(units(sigmoid(0.63), 4) == 6525);
        CHECK(units(sigmoid(0.64), 4) == 6548);
        CHECK(units(0.6522, 4) != units(sigmoid(0.63), 4));
    }

    SECTION("z²: even the notes' own a¹ gives −0.0209 and 0.0125, not 0.167 and 0.069") {
        const double a1_1 = 0.5597, a1_2 = 0.5275, a1_3 = 0.6522;  // as printed
        CHECK(units(0.3 * a1_1 - 0.7 * a1_2 + 0.2 * a1_3 + 0.05, 4) == -209);
        CHECK(units(0.6 * a1_1 + 0.1 * a1_2 - 0.5 * a1_3 - 0.05, 4) == 125);
        // a² and everything after it follow from the wrong z²: σ(0.167) and σ(0.069) are the
        // printed a².
        CHECK(units(sigmoid(0.167), 4) == 5417);
        CHECK(units(sigmoid(0.069), 4) == 5172);
    }

    SECTION("(W²)ᵀδ²: the notes' own δ² gives 0.0433, 0.0926, −0.0873, not the printed values") {
        const double delta2_1 = -0.1138, delta2_2 = 0.1291;  // as printed
        CHECK(units(0.3 * delta2_1 + 0.6 * delta2_2, 4) == 433);
        CHECK(units(-0.7 * delta2_1 + 0.1 * delta2_2, 4) == 926);
        CHECK(units(0.2 * delta2_1 - 0.5 * delta2_2, 4) == -873);
    }

    SECTION("the whole second row of the hidden-layer gradient has the wrong sign") {
        CHECK(e.delta1(1) > 0);
        CHECK(e.grad_w1(1, 0) > 0);
        CHECK(e.grad_w1(1, 1) > 0);
        CHECK(e.grad_b1(1) > 0);
        // printed: δ¹₂ = −0.0226, ∇W¹₂₁ = −0.0204, ∇W¹₂₂ = −0.0023, ∇b¹₂ = −0.0226
    }
}

}  // namespace test_worked_examples
