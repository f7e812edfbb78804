// Dropout in the hot path allocates nothing (STYLE.md point 5): after the first step sizes the
// workspace (and Adam's moments), 100 train_step calls and 100 backward + Adam steps of a
// Network and of a DynamicNetwork with a Dropout layer take nothing from the heap, masks drawn
// and all. allocation_counter.hpp explains how it is counted.

#include "allocation_counter.hpp"  // first: it must precede every Eigen include

#include "allocation_checks.hpp"
#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <tuple>
#include <vector>

namespace {

using nabla_alloc_test::count_allocations;
using nabla_alloc_test::Counts;
using nabla_test::random_matrix;
using nabla_test::same_parameters;
constexpr int dynamic = Eigen::Dynamic;

using MatrixF = Eigen::MatrixXf;

/// The number of exact zeros in `m`.
template <class M>
Eigen::Index zeros_of(const M& m) {
    return Eigen::Index((m.array() == typename M::Scalar(0)).count());
}

/// The sum of the first and of the last `n` entries of `costs`.
std::pair<double, double> ends_of(const std::vector<double>& costs, std::size_t n) {
    double first = 0;
    double last = 0;
    for (std::size_t i = 0; i < n; ++i) {
        first += costs[i];
        last += costs[costs.size() - 1 - i];
    }
    return {first, last};
}

/// After a first train_step and a first backward + Adam step, 100 of each allocate nothing; the
/// costs of the last ten steps are below those of the first ten, the weights moved, and the
/// dropout layer (layer 2) really dropped units (`mask_of(ws)` reads its mask).
template <class Net, class MaskOf>
void check_dropout_steps_allocate_nothing(Net& net, const MatrixF& x, const MatrixF& y,
                                          MaskOf&& mask_of) {
    typename Net::template Workspace<> ws;
    ws.seed(5);
    nabla::Adam adam(0.01);
    net.train_step(x, y, ws, 0.05f);  // sizes the workspace
    net.backward(x, y, ws);
    adam.step(net, ws);  // sizes Adam's moments
    const MatrixF first_mask = mask_of(ws);
    REQUIRE(zeros_of(first_mask) > 0);
    REQUIRE(zeros_of(first_mask) < first_mask.size());

    std::vector<double> costs(100);
    const Net before_sgd = net;
    const Counts sgd_steps = count_allocations([&] {
        for (std::size_t step = 0; step < costs.size(); ++step)
            costs[step] = double(net.train_step(x, y, ws, 0.05f));
    });
    CHECK(sgd_steps.new_calls == 0);
    CHECK(sgd_steps.eigen_mallocs == 0);
    const auto [sgd_first, sgd_last] = ends_of(costs, 10);
    CAPTURE(sgd_first, sgd_last);
    CHECK(sgd_last < sgd_first);
    CHECK_FALSE(same_parameters(net, before_sgd));
    CHECK(mask_of(ws) != first_mask);  // new masks were drawn

    const Net before_adam = net;
    const MatrixF sgd_mask = mask_of(ws);
    const Counts adam_steps = count_allocations([&] {
        for (std::size_t step = 0; step < costs.size(); ++step) {
            costs[step] = double(net.backward(x, y, ws));
            adam.step(net, ws);
        }
    });
    CHECK(adam_steps.new_calls == 0);
    CHECK(adam_steps.eigen_mallocs == 0);
    const auto [adam_first, adam_last] = ends_of(costs, 10);
    CAPTURE(adam_first, adam_last);
    CHECK(adam_last < adam_first);
    CHECK_FALSE(same_parameters(net, before_adam));
    CHECK(mask_of(ws) != sgd_mask);

    // A replay and a prediction pass on the same workspace allocate nothing either.
    float sum = 0;
    const Counts others = count_allocations([&] {
        sum += net.replay_loss(x, y, ws);
        sum += net.loss(x, y, ws);
        sum += net.forward(x, ws).sum();
    });
    CHECK(others.total() == 0);
    CHECK(sum == sum);

    // Positive control: a batch of another size must resize, and the count must see it.
    const MatrixF wider = MatrixF::Zero(x.rows(), x.cols() + 1);
    const MatrixF wider_y = MatrixF::Zero(y.rows(), y.cols() + 1);
    const Counts resized = count_allocations([&] { net.backward(wider, wider_y, ws); });
    CHECK(resized.eigen_mallocs > 0);
}

}  // namespace

TEST_CASE("allocations: training steps through Dropout allocate nothing", "[allocations][dropout]") {
    const MatrixF x = random_matrix<MatrixF>(20, 8, 1);
    const MatrixF y = nabla_test::one_hot_targets<MatrixF>(5, 8);

    SECTION("Network<CrossEntropy> 20 -> ReLU 16 -> Dropout(0.3) -> Softmax 5, float") {
        using Hidden = nabla::Dense<float, dynamic, dynamic, nabla::ReLU>;
        using Output = nabla::Dense<float, dynamic, dynamic, nabla::Softmax>;
        using Net = nabla::Network<nabla::CrossEntropy, Hidden, nabla::Dropout<float>, Output>;
        Net net(std::make_tuple(Hidden(20, 16), nabla::Dropout<float>(16, 0.3), Output(16, 5)));
        net.initialize(3);
        check_dropout_steps_allocate_nothing(
            net, x, y, [](const Net::Workspace<>& ws) { return MatrixF(ws.layer<1>().mask); });
    }
    SECTION("Network with sizes fixed at compile time") {
        using Hidden = nabla::Dense<float, 20, 16, nabla::Tanh>;
        using Output = nabla::Dense<float, 16, 5, nabla::Softmax>;
        using Net = nabla::Network<nabla::CrossEntropy, Hidden, nabla::Dropout<float, 16>, Output>;
        Net net(std::make_tuple(Hidden(20, 16), nabla::Dropout<float, 16>(16, 0.3),
                                Output(16, 5)));
        net.initialize(4);
        check_dropout_steps_allocate_nothing(
            net, x, y, [](const Net::Workspace<>& ws) { return MatrixF(ws.layer<1>().mask); });
    }
    SECTION("DynamicNetwork<float, CrossEntropy> with a Dropout layer") {
        using Net = nabla::DynamicNetwork<float, nabla::CrossEntropy>;
        using Dense = Net::Layer;
        Net net(std::vector<nabla::AnyLayer<float>>{Dense(20, 16, nabla::ReLU{}),
                                                    nabla::Dropout<float>(16, 0.3),
                                                    Dense(16, 5, nabla::Softmax{})});
        net.initialize(3);
        check_dropout_steps_allocate_nothing(net, x, y, [](const Net::Workspace<>& ws) {
            return MatrixF(
                ws.layer(1).as<nabla::DropoutState<float, dynamic, dynamic>>().mask);
        });
    }
    CHECK(nabla_alloc_test::other_asserts == 0);
}
