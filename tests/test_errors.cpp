// Every error a user can provoke: the exception type, the standard class it is caught as, and a
// message that starts with "nabla: " and says where and what (the layer and both shapes, the
// option and its value, the epoch and batch). NumericalError must also leave the weights exactly
// as they were before the failing step.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace test_errors {  // named for the unity build of nabla_tests

namespace {

using nabla::ConfigError;
using nabla::NumericalError;
using nabla::ShapeError;
using nabla_test::message_of;
using Matrix = Eigen::MatrixXd;

constexpr int dynamic = Eigen::Dynamic;
constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

// The three forms a network takes: all sizes fixed, Eigen::Dynamic sizes in a static Network, and
// a DynamicNetwork.
using FixedNet = nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 2, 3, nabla::Sigmoid>,
                                nabla::Dense<double, 3, 1, nabla::Sigmoid>>;
using SizedNet =
    nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, dynamic, dynamic, nabla::Sigmoid>,
                   nabla::Dense<double, dynamic, dynamic, nabla::Sigmoid>>;
using DynNet = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;

DynNet make_dyn_net() { return DynNet({2, 3, 1}, {nabla::Sigmoid{}, nabla::Sigmoid{}}, 5); }

/// Checks the "nabla: " prefix and that every part occurs in the message.
void check_message(const std::string& message, std::initializer_list<const char*> parts) {
    INFO("message: " << message);
    CHECK(message.rfind("nabla: ", 0) == 0);
    for (const char* part : parts) {
        INFO("expected part: " << part);
        CHECK(message.find(part) != std::string::npos);
    }
}

using nabla_test::same_parameters;

}  // namespace

TEST_CASE("errors: each category derives from the standard class users catch", "[errors]") {
    static_assert(std::is_base_of_v<std::invalid_argument, ShapeError>);
    static_assert(std::is_base_of_v<std::invalid_argument, ConfigError>);
    static_assert(std::is_base_of_v<std::runtime_error, NumericalError>);
    static_assert(!std::is_base_of_v<ShapeError, ConfigError>);
    static_assert(!std::is_base_of_v<ConfigError, ShapeError>);

    // And at run time, thrown from the library rather than constructed here.
    SizedNet net({2, 3, 1});
    const Matrix x3 = Matrix::Zero(3, 4);
    const Matrix x = Matrix::Zero(2, 1);
    const Matrix y = Matrix::Constant(1, 1, not_a_number);
    REQUIRE_THROWS_AS(net.predict(x3), std::invalid_argument);
    REQUIRE_THROWS_AS(DynNet({2, 1}, {nabla::Sigmoid{}}).predict(x3), std::invalid_argument);
    nabla::TrainOptions options;
    options.batch_size = 0;
    REQUIRE_THROWS_AS(nabla::train(net, x, Matrix::Zero(1, 1), options), std::invalid_argument);
    SizedNet::Workspace<> ws;
    REQUIRE_THROWS_AS(net.train_step(x, y, ws, 0.1), std::runtime_error);
    CHECK(message_of<std::invalid_argument>([] { nabla::AnyActivation::parse("sigmoidal"); })
              .rfind("nabla: ", 0) == 0);
}

TEST_CASE("errors: input rows that do not fit the first layer", "[errors]") {
    const Matrix x = Matrix::Zero(3, 4);
    const Matrix y = Matrix::Zero(1, 4);

    SECTION("Network with Eigen::Dynamic sizes") {
        SizedNet net({2, 3, 1});
        SizedNet::Workspace<> ws;
        for (const std::string& message :
             {message_of<ShapeError>([&] { net.forward(x, ws); }),
              message_of<ShapeError>([&] { net.backward(x, y, ws); }),
              message_of<ShapeError>([&] { net.loss(x, y); }),
              message_of<ShapeError>([&] { net.predict(x); }),
              message_of<ShapeError>([&] { net.train_step(x, y, ws, 0.1); }),
              message_of<ShapeError>([&] { nabla::train(net, x, y, nabla::TrainOptions{}); })}) {
            check_message(message, {"Dense layer 1", "input has 3 rows", "the layer expects 2"});
        }
    }
    SECTION("Network with fixed sizes, given a matrix whose rows are known at run time only") {
        FixedNet net;
        FixedNet::Workspace<> ws;
        check_message(message_of<ShapeError>([&] { net.forward(x, ws); }),
                      {"Dense layer 1", "input has 3 rows", "the layer expects 2"});
    }
    SECTION("DynamicNetwork") {
        DynNet net = make_dyn_net();
        DynNet::Workspace<> ws;
        for (const std::string& message :
             {message_of<ShapeError>([&] { net.forward(x, ws); }),
              message_of<ShapeError>([&] { net.backward(x, y, ws); }),
              message_of<ShapeError>([&] { net.predict(x); }),
              message_of<ShapeError>([&] { nabla::train(net, x, y, nabla::TrainOptions{}); })}) {
            check_message(message, {"Dense layer 1", "input has 3 rows", "the layer expects 2"});
        }
    }
    SECTION("run_forward on a workspace filled by hand") {
        DynNet net = make_dyn_net();
        DynNet::Workspace<> ws;
        ws.input() = x;
        check_message(message_of<ShapeError>([&] { net.run_forward(ws); }),
                      {"Dense layer 1", "input has 3 rows", "the layer expects 2"});
        check_message(message_of<ShapeError>([&] { net.run_backward(ws, y); }),
                      {"Dense layer 1", "input has 3 rows", "the layer expects 2"});
    }
}

TEST_CASE("errors: targets whose rows do not fit the output layer", "[errors]") {
    const Matrix x = Matrix::Zero(2, 4);
    const Matrix y = Matrix::Zero(2, 4);  // the nets have one output
    SizedNet sized({2, 3, 1});
    SizedNet::Workspace<> sized_ws;
    DynNet dyn = make_dyn_net();
    DynNet::Workspace<> dyn_ws;
    for (const std::string& message :
         {message_of<ShapeError>([&] { sized.backward(x, y, sized_ws); }),
          message_of<ShapeError>([&] { sized.loss(x, y); }),
          message_of<ShapeError>([&] { sized.train_step(x, y, sized_ws, 0.1); }),
          message_of<ShapeError>([&] { nabla::train(sized, x, y, nabla::TrainOptions{}); }),
          message_of<ShapeError>([&] { dyn.backward(x, y, dyn_ws); }),
          message_of<ShapeError>([&] { nabla::train(dyn, x, y, nabla::TrainOptions{}); })}) {
        check_message(message, {"targets have 2 rows", "layer 2", "has 1"});
    }
}

TEST_CASE("errors: inputs and targets with different sample counts", "[errors]") {
    const Matrix x = Matrix::Zero(2, 4);
    const Matrix y = Matrix::Zero(1, 3);
    SizedNet sized({2, 3, 1});
    SizedNet::Workspace<> ws;
    DynNet dyn = make_dyn_net();
    for (const std::string& message :
         {message_of<ShapeError>([&] { sized.backward(x, y, ws); }),
          message_of<ShapeError>([&] { sized.loss(x, y); }),
          message_of<ShapeError>([&] { nabla::train(sized, x, y, nabla::TrainOptions{}); }),
          message_of<ShapeError>([&] { nabla::train(dyn, x, y, nabla::TrainOptions{}); })}) {
        check_message(message, {"4 samples", "targets have 3"});
    }
}

TEST_CASE("errors: set_weights and set_bias with the wrong shape name the layer", "[errors]") {
    SECTION("Network") {
        SizedNet net({2, 3, 1});
        const SizedNet before = net;
        check_message(
            message_of<ShapeError>([&] { net.layer<1>().set_weights(Matrix::Zero(2, 3)); }),
            {"Dense layer 2", "2x3", "1x3"});
        check_message(message_of<ShapeError>([&] { net.layer<1>().set_bias(Matrix::Zero(2, 1)); }),
                      {"Dense layer 2", "2x1", "1x1"});
        // A row where a column belongs: same number of entries, still the wrong shape.
        check_message(message_of<ShapeError>([&] { net.layer<0>().set_bias(Matrix::Zero(1, 3)); }),
                      {"Dense layer 1", "1x3", "3x1"});
        CHECK(same_parameters(net, before));
    }
    SECTION("Network with fixed sizes") {
        FixedNet net;
        check_message(
            message_of<ShapeError>([&] { net.layer<1>().set_weights(Matrix::Zero(3, 1)); }),
            {"Dense layer 2", "3x1", "1x3"});
    }
    SECTION("DynamicNetwork") {
        DynNet net = make_dyn_net();
        const DynNet before = net;
        check_message(message_of<ShapeError>([&] { net.layer(1).set_weights(Matrix::Zero(3, 3)); }),
                      {"Dense layer 2", "3x3", "1x3"});
        check_message(message_of<ShapeError>([&] { net.layer(1).set_bias(Matrix::Zero(3, 1)); }),
                      {"Dense layer 2", "3x1", "1x1"});
        CHECK(same_parameters(net, before));
    }
}

TEST_CASE("errors: an empty batch", "[errors]") {
    const Matrix x = Matrix::Zero(2, 0);
    const Matrix y = Matrix::Zero(1, 0);
    SizedNet sized({2, 3, 1});
    SizedNet::Workspace<> sized_ws;
    DynNet dyn = make_dyn_net();
    DynNet::Workspace<> dyn_ws;
    for (const std::string& message :
         {message_of<ShapeError>([&] { sized.forward(x, sized_ws); }),
          message_of<ShapeError>([&] { sized.backward(x, y, sized_ws); }),
          message_of<ShapeError>([&] { sized.predict(x); }),
          message_of<ShapeError>([&] { sized.run_forward(sized_ws); }),  // never filled
          message_of<ShapeError>([&] { nabla::train(sized, x, y, nabla::TrainOptions{}); }),
          message_of<ShapeError>([&] { dyn.forward(x, dyn_ws); }),
          message_of<ShapeError>([&] { nabla::train(dyn, x, y, nabla::TrainOptions{}); })}) {
        check_message(message, {"empty", "0 columns"});
    }
}

TEST_CASE("errors: TrainOptions out of range are ConfigErrors naming option and value",
          "[errors]") {
    SizedNet net({2, 3, 1});
    const SizedNet before = net;
    const Matrix x = Matrix::Zero(2, 4);
    const Matrix y = Matrix::Zero(1, 4);
    const auto message_for = [&](const nabla::TrainOptions& options) {
        return message_of<ConfigError>([&] { nabla::train(net, x, y, options); });
    };
    nabla::TrainOptions options;

    SECTION("batch_size 0") {
        options.batch_size = 0;
        check_message(message_for(options), {"batch_size", "got 0"});
    }
    SECTION("batch_size -3") {
        options.batch_size = -3;
        check_message(message_for(options), {"batch_size", "got -3"});
    }
    SECTION("epochs -1") {
        options.epochs = -1;
        check_message(message_for(options), {"epochs", "got -1"});
    }
    SECTION("learning_rate 0") {
        options.learning_rate = 0;
        check_message(message_for(options), {"learning_rate", "got 0"});
    }
    SECTION("learning_rate -0.5") {
        options.learning_rate = -0.5;
        check_message(message_for(options), {"learning_rate", "got -0.5"});
    }
    SECTION("learning_rate NaN") {
        options.learning_rate = not_a_number;
        check_message(message_for(options), {"learning_rate", "got nan"});
    }
    SECTION("learning_rate infinite") {
        options.learning_rate = std::numeric_limits<double>::infinity();
        check_message(message_for(options), {"learning_rate", "got inf"});
    }
    CHECK(same_parameters(net, before));
}

TEST_CASE("errors: a fixed-batch workspace given another batch size", "[errors]") {
    const Matrix x = Matrix::Zero(2, 4);
    const Matrix y = Matrix::Zero(1, 4);
    SECTION("Network with fixed sizes") {
        FixedNet net;
        FixedNet::Workspace<1> ws;
        check_message(message_of<ShapeError>([&] { net.forward(x, ws); }),
                      {"fixed batch of 1 sample", "4 samples"});
        check_message(message_of<ShapeError>([&] { net.train_step(x, y, ws, 0.1); }),
                      {"fixed batch of 1 sample", "4 samples"});
    }
    SECTION("DynamicNetwork") {
        DynNet net = make_dyn_net();
        DynNet::Workspace<2> ws;
        check_message(message_of<ShapeError>([&] { net.forward(x, ws); }),
                      {"fixed batch of 2 samples", "4 samples"});
    }
}

TEST_CASE("errors: Network sizes that do not fit its layer types", "[errors]") {
    SECTION("too few sizes") {
        check_message(message_of<ShapeError>([] { SizedNet net({2, 3}); }),
                      {"2 sizes given", "2 layers", "needs 3"});
    }
    SECTION("too many sizes") {
        check_message(message_of<ShapeError>([] { SizedNet net({2, 3, 4, 1}); }),
                      {"4 sizes given", "2 layers", "needs 3"});
    }
    SECTION("too many sizes for a network whose sizes are all fixed") {
        check_message(message_of<ShapeError>([] { FixedNet net({2, 3, 1, 1}); }),
                      {"4 sizes given", "needs 3"});
    }
    SECTION("a fixed size contradicted") {
        using HalfFixed = nabla::Network<nabla::HalfSquaredError,
                                         nabla::Dense<double, 2, dynamic, nabla::Sigmoid>,
                                         nabla::Dense<double, dynamic, 1, nabla::Sigmoid>>;
        check_message(message_of<ShapeError>([] { HalfFixed net({3, 4, 1}); }),
                      {"Network: layer 1", "3 inputs and 4 outputs",
                       "fixes 2 inputs and any number of outputs"});
        check_message(message_of<ShapeError>([] { HalfFixed net({2, 4, 5}); }),
                      {"Network: layer 2", "4 inputs and 5 outputs",
                       "fixes any number of inputs and 1 output"});
        CHECK_NOTHROW(HalfFixed({2, 4, 1}));
        // Both layers contradict their types (layer 1 fixes 3 outputs, layer 2 fixes 3 inputs):
        // the first one is named.
        check_message(message_of<ShapeError>([] { FixedNet net({2, 4, 1}); }),
                      {"Network: layer 1", "2 inputs and 4 outputs",
                       "fixes 2 inputs and 3 outputs"});
    }
    SECTION("a size of 0") {
        check_message(message_of<ShapeError>([] { SizedNet net({2, 0, 1}); }),
                      {"Network: layer 1", "2 inputs and 0 outputs", "at least 1"});
    }
}

TEST_CASE("errors: DynamicNetwork sizes and activations that do not fit", "[errors]") {
    using nabla::Sigmoid;
    using nabla::Tanh;
    check_message(message_of<ShapeError>([] { DynNet({2, 3, 1}, {Tanh{}}); }),
                  {"DynamicNetwork", "3 sizes and 1 activation given"});
    check_message(message_of<ShapeError>([] { DynNet({2, 1}, {Tanh{}, Sigmoid{}}); }),
                  {"DynamicNetwork", "2 sizes and 2 activations"});
    check_message(message_of<ShapeError>([] { DynNet({2}, {}); }),
                  {"DynamicNetwork", "1 size and 0 activations"});
    check_message(message_of<ShapeError>([] { DynNet({2, 0, 1}, {Tanh{}, Sigmoid{}}); }),
                  {"DynamicNetwork: layer 1", "2 inputs and 0 outputs", "at least 1"});
    check_message(message_of<ShapeError>([] { DynNet(std::vector<DynNet::Layer>{}); }),
                  {"DynamicNetwork", "no layers"});
    const DynNet net = make_dyn_net();
    CHECK(message_of<std::out_of_range>([&] { net.layer(2); }) != "<no exception>");
}

TEST_CASE("errors: layers that do not chain", "[errors]") {
    using Layer = nabla::Dense<double, dynamic, dynamic, nabla::Sigmoid>;
    SECTION("Network from a tuple") {
        check_message(
            message_of<ShapeError>([] { SizedNet net(std::make_tuple(Layer(2, 3), Layer(4, 1))); }),
            {"Dense layer 2 has 4 inputs", "Dense layer 1 has 3 outputs"});
        CHECK_NOTHROW(SizedNet(std::make_tuple(Layer(2, 3), Layer(3, 1))));
    }
    SECTION("DynamicNetwork from a vector of layers") {
        std::vector<DynNet::Layer> layers;
        layers.emplace_back(2, 3, nabla::Tanh{});
        layers.emplace_back(3, 5, nabla::Tanh{});
        layers.emplace_back(4, 1, nabla::Identity{});
        check_message(message_of<ShapeError>([&] { DynNet net(layers); }),
                      {"Dense layer 3 has 4 inputs", "Dense layer 2 has 5 outputs"});
    }
}

TEST_CASE("errors: a loss that does not fit the output activation", "[errors]") {
    using nabla::Sigmoid;
    using nabla::Softmax;
    using nabla::Tanh;
    check_message(message_of<ConfigError>([] {
                      nabla::DynamicNetwork<double, nabla::CrossEntropy>({4, 3, 2},
                                                                         {Tanh{}, Sigmoid{}});
                  }),
                  {"loss", "sigmoid", "CrossEntropy needs softmax"});
    check_message(message_of<ConfigError>([] {
                      nabla::DynamicNetwork<float, nabla::BinaryCrossEntropy>({4, 2},
                                                                              {Softmax{}});
                  }),
                  {"loss", "softmax", "BinaryCrossEntropy needs sigmoid"});
    CHECK_NOTHROW(
        nabla::DynamicNetwork<double, nabla::CrossEntropy>({4, 3, 2}, {Sigmoid{}, Softmax{}}));

    // A static Network whose output activation is chosen at run time.
    using AnyNet = nabla::Network<nabla::CrossEntropy,
                                  nabla::Dense<double, dynamic, dynamic, nabla::AnyActivation>>;
    using AnyLayer = nabla::Dense<double, dynamic, dynamic, nabla::AnyActivation>;
    const AnyLayer relu_output(4, 2, nabla::AnyActivation::parse("relu"));
    check_message(message_of<ConfigError>([&] { AnyNet net(std::make_tuple(relu_output)); }),
                  {"loss", "relu", "CrossEntropy needs softmax"});
    check_message(message_of<ConfigError>([] { AnyNet net({4, 2}); }),  // identity by default
                  {"loss", "identity"});
}

TEST_CASE("errors: an unknown activation name", "[errors]") {
    check_message(message_of<ConfigError>([] { nabla::AnyActivation::parse("Relu"); }),
                  {"\"Relu\"", "relu", "leaky_relu"});
}

TEST_CASE("errors: update and input_gradient without gradients in the workspace", "[errors]") {
    SizedNet net({2, 3, 1});
    const SizedNet before = net;
    SizedNet::Workspace<> ws;
    const Matrix x = Matrix::Constant(2, 1, 0.5);
    const Matrix y = Matrix::Constant(1, 1, 0.25);

    check_message(message_of<ShapeError>([&] { net.update(ws, 0.1); }),
                  {"update", "no gradients"});
    check_message(message_of<ShapeError>([&] { net.input_gradient(ws); }),
                  {"input_gradient", "no gradients"});
    // A forward pass leaves none either, even after a backward pass before it.
    net.backward(x, y, ws);
    net.forward(x, ws);
    check_message(message_of<ShapeError>([&] { net.update(ws, 0.1); }),
                  {"update", "no gradients"});
    CHECK(same_parameters(net, before));

    SECTION("gradients of a network of other sizes") {
        DynNet small = make_dyn_net();  // 2-3-1
        DynNet wide({2, 4, 1}, {nabla::Sigmoid{}, nabla::Sigmoid{}});
        DynNet::Workspace<> dyn_ws;
        small.backward(x, y, dyn_ws);
        check_message(message_of<ShapeError>([&] { wide.update(dyn_ws, 0.1); }),
                      {"update", "3x2", "Dense layer 1", "4x2"});
        check_message(message_of<ShapeError>([&] { wide.input_gradient(dyn_ws); }),
                      {"input_gradient", "3x2", "Dense layer 1", "4x2"});
    }
}

TEST_CASE("errors: a NaN during train names the epoch and batch and keeps the weights",
          "[errors]") {
    // Three samples, one per batch, in order: only batch 2 holds the NaN.
    Matrix x(2, 3);
    x << 0.5, not_a_number, -0.3,
         0.2, 0.1, 0.9;
    Matrix y(1, 3);
    y << 0.1, 0.7, 0.4;
    nabla::TrainOptions options;
    options.epochs = 1;
    options.batch_size = 1;
    options.learning_rate = 0.5;
    options.shuffle = false;

    SECTION("Network") {
        SizedNet net({2, 3, 1}, 11);
        SizedNet expected = net;
        SizedNet::Workspace<> ws;
        expected.train_step(x.col(0), y.col(0), ws, 0.5);  // batch 1, the one step that succeeds
        REQUIRE(!same_parameters(expected, net));  // so the comparison below means more

        const std::string message =
            message_of<NumericalError>([&] { nabla::train(net, x, y, options); });
        check_message(message, {"train", "epoch 1, batch 2 of 3", "nan"});
        CHECK(same_parameters(net, expected));
    }
    SECTION("DynamicNetwork") {
        DynNet net = make_dyn_net();
        DynNet expected = net;
        DynNet::Workspace<> ws;
        expected.train_step(x.col(0), y.col(0), ws, 0.5);
        REQUIRE(!same_parameters(expected, net));

        const std::string message =
            message_of<NumericalError>([&] { nabla::train(net, x, y, options); });
        check_message(message, {"train", "epoch 1, batch 2 of 3"});
        CHECK(same_parameters(net, expected));
    }
    SECTION("a NaN in the targets") {
        Matrix clean_x = x;
        clean_x(0, 1) = 0.4;
        Matrix bad_y = y;
        bad_y(0, 2) = not_a_number;
        SizedNet net({2, 3, 1}, 11);
        SizedNet expected = net;
        SizedNet::Workspace<> ws;
        expected.train_step(clean_x.col(0), y.col(0), ws, 0.5);
        expected.train_step(clean_x.col(1), y.col(1), ws, 0.5);

        const std::string message =
            message_of<NumericalError>([&] { nabla::train(net, clean_x, bad_y, options); });
        check_message(message, {"epoch 1, batch 3 of 3"});
        CHECK(same_parameters(net, expected));
    }
}

TEST_CASE("errors: divergence in a later epoch names that epoch and keeps its weights",
          "[errors]") {
    // A linear net with a learning rate far past 2/λ_max: the weights grow geometrically each
    // step until the loss overflows. One batch per epoch, so the epoch that fails is the step.
    using Linear = nabla::Network<nabla::HalfSquaredError,
                                  nabla::Dense<double, dynamic, dynamic, nabla::Identity>>;
    const Matrix x = nabla_test::random_matrix<Matrix>(3, 6, 21, -2, 2);
    const Matrix y = nabla_test::random_matrix<Matrix>(1, 6, 22, -1, 1);
    nabla::TrainOptions options;
    options.epochs = 10000;
    options.batch_size = 6;
    options.learning_rate = 50;
    options.shuffle = false;

    Linear net({3, 1}, 4);
    const Linear initial = net;
    const std::string message =
        message_of<NumericalError>([&] { nabla::train(net, x, y, options); });
    check_message(message, {"train: epoch ", ", batch 1 of 1"});
    const std::size_t at = message.find("epoch ");
    REQUIRE(at != std::string::npos);
    const int failed_epoch = std::stoi(message.substr(at + 6));
    INFO("failed in epoch " << failed_epoch);
    REQUIRE(failed_epoch > 2);  // a later epoch, not the first step

    // Every epoch before it succeeds, and the weights are exactly those it left.
    Linear expected = initial;
    options.epochs = failed_epoch - 1;
    const std::vector<double> losses = nabla::train(expected, x, y, options);
    CHECK(losses.size() == std::size_t(failed_epoch - 1));
    CHECK(same_parameters(net, expected));
    CHECK(expected.layer<0>().weights().allFinite());
}

TEST_CASE("errors: train_step with a NaN leaves the weights unchanged", "[errors]") {
    const Matrix clean_x = Matrix::Constant(2, 4, 0.5);
    Matrix x = clean_x;
    x(1, 2) = not_a_number;
    const Matrix y = Matrix::Constant(1, 4, 0.3);

    SECTION("Network with fixed sizes") {
        FixedNet net(3);
        const FixedNet before = net;
        FixedNet::Workspace<> ws;
        check_message(message_of<NumericalError>([&] { net.train_step(x, y, ws, 0.5); }),
                      {"train_step", "nan"});
        CHECK(same_parameters(net, before));
        // The net still trains afterwards.
        net.train_step(clean_x, y, ws, 0.5);
        CHECK_FALSE(same_parameters(net, before));
    }
    SECTION("DynamicNetwork") {
        DynNet net = make_dyn_net();
        const DynNet before = net;
        DynNet::Workspace<> ws;
        check_message(message_of<NumericalError>([&] { net.train_step(x, y, ws, 0.5); }),
                      {"train_step"});
        CHECK(same_parameters(net, before));
    }
    SECTION("an infinite target") {
        SizedNet net({2, 3, 1});
        const SizedNet before = net;
        SizedNet::Workspace<> ws;
        Matrix bad_y = y;
        bad_y(0, 0) = std::numeric_limits<double>::infinity();
        check_message(message_of<NumericalError>([&] { net.train_step(clean_x, bad_y, ws, 0.5); }),
                      {"train_step", "inf"});
        CHECK(same_parameters(net, before));
    }
}

}  // namespace test_errors
