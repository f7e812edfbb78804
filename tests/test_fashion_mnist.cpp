// A short training run on the real Fashion-MNIST data (Debian's dataset-fashion-mnist, which
// scripts/test.sh installs): the whole pipeline of the demo — loading, one-hot targets, He
// initialisation, Adam, fit(), predict, accuracy — on a slice small enough for every CI run.
//
// The bar: one epoch over the first 5000 training images must classify at least 75% of the first
// 2000 test images. Guessing gives 10%, the most frequent class about 11%; a linear model needs
// a few epochs to pass 75%; the demo's network measured 80–81% here. A wrong sign or a lost
// factor in any gradient stays far below the bar.

#include "catch.hpp"
#include "test_support.hpp"

#include <cmath>

#include <nabla/data/fashion_mnist.hpp>
#include <nabla/data/one_hot.hpp>
#include <nabla/dynamic_network.hpp>
#include <nabla/fit.hpp>
#include <nabla/init.hpp>
#include <nabla/metrics.hpp>
#include <nabla/network.hpp>
#include <nabla/optim/adam.hpp>

namespace {

constexpr double accuracy_bar = 0.75;

/// The first `train` training and `test` test images, or a failed REQUIRE saying what to install.
nabla::FashionMnist<float> slice(long train, long test) {
    INFO("Fashion-MNIST is a test dependency: sudo apt-get install -y dataset-fashion-mnist");
    REQUIRE(nabla::fashion_mnist_available());
    return nabla::load_fashion_mnist<float>(nabla::fashion_mnist_default_dir, train, test);
}

/// Trains `net` for one epoch of batches of 64 with Adam (rate 1e-3) and returns its test
/// accuracy.
template <class Net>
double one_epoch_accuracy(Net& net, const nabla::FashionMnist<float>& data) {
    net.initialize(1, nabla::HeNormal{});
    const Eigen::MatrixXf targets = nabla::one_hot<float>(data.train_labels, 10);
    nabla::Adam adam(1e-3);
    nabla::FitOptions options;
    options.epochs = 1;
    options.batch_size = 64;
    options.seed = 1;
    options.progress.mode = nabla::ProgressMode::silent;
    const nabla::History history = nabla::fit(net, adam, data.train_images, targets, options);
    REQUIRE(history.size() == 1);
    CHECK(history.epochs[0].loss < std::log(10.0));  // below the loss of a uniform guess
    return nabla::accuracy(net.predict(data.test_images), data.test_labels);
}

}  // namespace

TEST_CASE("fashion-mnist: one epoch on 5000 images classifies 75% of 2000 test images",
          "[fashion][training]") {
    const nabla::FashionMnist<float> data = slice(5000, 2000);
    REQUIRE(data.train_images.cols() == 5000);
    REQUIRE(data.test_images.cols() == 2000);

    using Hidden = nabla::Dense<float, Eigen::Dynamic, Eigen::Dynamic, nabla::ReLU>;
    using Output = nabla::Dense<float, Eigen::Dynamic, Eigen::Dynamic, nabla::Softmax>;
    nabla::Network<nabla::CrossEntropy, Hidden, Hidden, Output> net({784, 256, 128, 10});
    const double accuracy = one_epoch_accuracy(net, data);
    INFO("test accuracy " << accuracy);
    CHECK(accuracy >= accuracy_bar);

    SECTION("a DynamicNetwork of the same layers learns the same, weight for weight") {
        nabla::DynamicNetwork<float, nabla::CrossEntropy> dynamic(
            {784, 256, 128, 10}, {nabla::ReLU{}, nabla::ReLU{}, nabla::Softmax{}});
        CHECK(one_epoch_accuracy(dynamic, data) == accuracy);
        net.for_each_layer([&](const auto& layer, auto l) {
            CAPTURE(std::size_t(l));
            CHECK(dynamic.layer(l).weights() == layer.weights());
            CHECK(dynamic.layer(l).bias() == layer.bias());
        });
    }
}
