// FlushDenormals and fit()'s flush_denormals: subnormal results become zero while a guard lives,
// and the thread's previous setting comes back afterwards.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/denormals.hpp>
#include <nabla/fit.hpp>
#include <nabla/network.hpp>
#include <nabla/optim/sgd.hpp>

#include <limits>
#include <stdexcept>
#include <vector>

namespace test_denormals {  // named for the unity build of nabla_tests

namespace {

/// 1e-20 · 1e-19 = 1e-39, below float's smallest normal number (1.18e-38): subnormal unless
/// flushed. volatile keeps the compiler from computing it at compile time.
float subnormal_product() {
    volatile float a = 1e-20f;
    volatile float b = 1e-19f;
    return a * b;
}

}  // namespace

TEST_CASE("denormals: FlushDenormals flushes while it lives and restores after", "[denormals]") {
    const float before = subnormal_product();
    REQUIRE(before > 0);
    REQUIRE(before < std::numeric_limits<float>::min());  // it is subnormal
    {
        nabla::FlushDenormals flush;
        if (nabla::FlushDenormals::supported())
            CHECK(subnormal_product() == 0);
        else
            CHECK(subnormal_product() == before);
        {
            nabla::FlushDenormals nested;  // a nested guard restores the flushing state
        }
        if (nabla::FlushDenormals::supported()) CHECK(subnormal_product() == 0);
    }
    CHECK(subnormal_product() == before);
}

TEST_CASE("denormals: fit() flushes while it trains unless told not to", "[denormals][fit]") {
    using Net = nabla::Network<nabla::SquaredError, nabla::Dense<float, 1, 2, nabla::Tanh>,
                               nabla::Dense<float, 2, 1, nabla::Identity>>;
    Net net(1);
    Eigen::Matrix<float, 1, 4> x;
    x << -1, -0.5f, 0.5f, 1;
    const Eigen::Matrix<float, 1, 4> y = x / 2;
    nabla::Sgd sgd(0.1);
    nabla::FitOptions options;
    options.epochs = 2;
    options.progress.mode = nabla::ProgressMode::silent;
    std::vector<float> seen;
    options.callbacks.push_back([&](const nabla::EpochRecord&) {
        seen.push_back(subnormal_product());
        return nabla::EpochAction::proceed;
    });
    const float outside = subnormal_product();
    REQUIRE(outside > 0);

    SECTION("by default it flushes") {
        nabla::fit(net, sgd, x, y, options);
        REQUIRE(seen.size() == 2);
        for (float v : seen) CHECK(v == (nabla::FlushDenormals::supported() ? 0.0f : outside));
    }
    SECTION("flush_denormals = false leaves them") {
        options.flush_denormals = false;
        nabla::fit(net, sgd, x, y, options);
        REQUIRE(seen.size() == 2);
        for (float v : seen) CHECK(v == outside);
    }
    SECTION("an exception out of fit() restores the setting too") {
        options.callbacks.push_back([](const nabla::EpochRecord&) -> nabla::EpochAction {
            throw std::runtime_error("stop here");
        });
        CHECK_THROWS_AS(nabla::fit(net, sgd, x, y, options), std::runtime_error);
    }
    CHECK(subnormal_product() == outside);
}

}  // namespace test_denormals
