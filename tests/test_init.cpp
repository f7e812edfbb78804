// Initialisation: Rng::normal() is a standard normal; each initializer draws W with the variance
// its formula gives (fan-in and fan-out taken from the right sides of W); one seed gives one
// network bit for bit; the default fits each activation; Constant, PerLayer and user callables
// fill what they say; and with the default initialisation a [2,3,1] sigmoid net learns XOR with
// plain SGD.
//
// Statistical checks use bounds of 5 standard errors for the sample size at hand, so a check
// fails by chance with probability below 1e-6 (and, the seeds being fixed, never flickers),
// while a wrong variance formula (a factor of fan_in against fan_in + fan_out) is off by many
// standard errors.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/dynamic_network.hpp>
#include <nabla/init.hpp>
#include <nabla/loss.hpp>
#include <nabla/network.hpp>
#include <nabla/optim/sgd.hpp>
#include <nabla/random.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace test_init {  // named for the unity build of nabla_tests

namespace {

using nabla_test::message_of;
using Matrix = Eigen::MatrixXd;

/// Sample moments of a set of values.
struct Moments {
    double n = 0;
    double mean = 0;
    double variance = 0;  // second central moment, divided by n
    double skewness = 0;
    double kurtosis = 0;  // m4 / m2², 3 for a normal, 1.8 for a uniform
};

template <class Derived>
Moments moments_of(const Eigen::MatrixBase<Derived>& values) {
    Moments m;
    m.n = double(values.size());
    m.mean = values.template cast<double>().mean();
    double m2 = 0, m3 = 0, m4 = 0;
    for (Eigen::Index k = 0; k < values.cols(); ++k) {
        for (Eigen::Index j = 0; j < values.rows(); ++j) {
            const double d = double(values(j, k)) - m.mean;
            m2 += d * d;
            m3 += d * d * d;
            m4 += d * d * d * d;
        }
    }
    m2 /= m.n;
    m3 /= m.n;
    m4 /= m.n;
    m.variance = m2;
    m.skewness = m3 / std::pow(m2, 1.5);
    m.kurtosis = m4 / (m2 * m2);
    return m;
}

/// Checks that `w` looks like n draws of a zero-mean distribution with variance `variance` and
/// kurtosis `kurtosis` (1.8 uniform, 3 normal): the mean within 5σ/√n, the sample variance within
/// 5 standard errors, σ²·√((κ − 1)/n).
template <class Derived>
void check_variance(const Eigen::MatrixBase<Derived>& w, double variance, double kurtosis) {
    const Moments m = moments_of(w);
    const double sigma = std::sqrt(variance);
    CAPTURE(m.n, m.mean, m.variance, variance);
    CHECK(std::abs(m.mean) < 5 * sigma / std::sqrt(m.n));
    CHECK(std::abs(m.variance - variance) < 5 * variance * std::sqrt((kurtosis - 1) / m.n));
}

/// For U(−limit, limit) draws: none outside, and the largest |w| within limit·20/n of the limit
/// (the chance that all n fall short of that is (1 − 20/n)ⁿ ≈ e⁻²⁰).
template <class Derived>
void check_uniform_range(const Eigen::MatrixBase<Derived>& w, double limit) {
    const double largest = w.cwiseAbs().maxCoeff();
    const double n = double(w.size());
    CAPTURE(largest, limit);
    CHECK(largest <= limit);
    CHECK(largest > limit * (1 - 20 / n));
}

/// For N(0, σ²) draws: kurtosis 3 within 5·√(24/n), the standard error of the sample kurtosis of
/// a normal; a uniform (1.8) is far outside.
template <class Derived>
void check_normal_shape(const Eigen::MatrixBase<Derived>& w) {
    const Moments m = moments_of(w);
    CAPTURE(m.kurtosis);
    CHECK(std::abs(m.kurtosis - 3) < 5 * std::sqrt(24 / m.n));
}

/// Every W and b of a network, copied out.
template <class Net>
std::vector<Matrix> parameters_of(const Net& net) {
    std::vector<Matrix> result;
    net.for_each_layer([&](const auto& layer, auto) {
        result.push_back(layer.weights().template cast<double>());
        result.push_back(layer.bias().template cast<double>());
    });
    return result;
}

/// Sets every bias to 1, so that a test can see an initializer put it back to 0.
template <class Net>
void dirty_biases(Net& net) {
    net.for_each_layer([&](auto& layer, auto) {
        using Bias = typename std::decay_t<decltype(layer)>::Bias;
        layer.set_bias(Bias::Ones(layer.outputs()));
    });
}

template <class Net>
bool all_biases_zero(const Net& net) {
    bool zero = true;
    net.for_each_layer([&](const auto& layer, auto) { zero = zero && layer.bias().isZero(0); });
    return zero;
}

// Two layers whose fans differ, so a formula that mixes up fan-in and fan-out shows: layer 1 has
// W 500 × 300 (fan_in 300, fan_out 500), layer 2 has W 200 × 500 (fan_in 500, fan_out 200).
using BigNet = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;
BigNet big_net() { return BigNet({300, 500, 200}, {nabla::Tanh{}, nabla::Identity{}}, 1); }

}  // namespace

TEST_CASE("init: Rng::normal() draws from N(0, 1)", "[init][random]") {
    nabla::Rng rng(2024);
    const int n = 200000;
    Eigen::VectorXd x(n);
    for (int i = 0; i < n; ++i) x(i) = rng.normal();
    const Moments m = moments_of(x);
    CAPTURE(m.mean, m.variance, m.skewness, m.kurtosis);
    CHECK(std::abs(m.mean) < 5 / std::sqrt(double(n)));
    CHECK(std::abs(m.variance - 1) < 5 * std::sqrt(2.0 / n));  // (κ − 1)/n with κ = 3
    CHECK(std::abs(m.skewness) < 5 * std::sqrt(6.0 / n));
    CHECK(std::abs(m.kurtosis - 3) < 5 * std::sqrt(24.0 / n));
    // P(|x| < 1) = erf(1/√2) for a standard normal; its count is binomial.
    const double p = std::erf(1 / std::sqrt(2.0));
    const double inside = double((x.array().abs() < 1).count()) / n;
    CHECK(std::abs(inside - p) < 5 * std::sqrt(p * (1 - p) / n));

    SECTION("normal(mean, stddev) shifts and scales") {
        nabla::Rng a(5);
        nabla::Rng b(5);
        for (int i = 0; i < 100; ++i) CHECK(a.normal(3.0, 0.5) == 3.0 + 0.5 * b.normal());
    }
    SECTION("one seed, one sequence; another seed, another") {
        nabla::Rng a(77);
        nabla::Rng b(77);
        nabla::Rng c(78);
        int differ = 0;
        for (int i = 0; i < 1000; ++i) {
            const double u = a.normal();
            CHECK(u == b.normal());
            differ += u != c.normal();
        }
        CHECK(differ == 1000);
    }
}

TEST_CASE("init: each initializer has the variance of its formula", "[init]") {
    BigNet net = big_net();
    const double in1 = 300, out1 = 500, in2 = 500, out2 = 200;

    SECTION("GlorotUniform: U(-r, r), r = gain sqrt(6 / (fan_in + fan_out))") {
        for (double gain : {1.0, 1.5}) {
            CAPTURE(gain);
            net.initialize(3, nabla::GlorotUniform(gain));
            const double r1 = gain * std::sqrt(6 / (in1 + out1));
            const double r2 = gain * std::sqrt(6 / (in2 + out2));
            check_variance(net.layer(0).weights(), r1 * r1 / 3, 1.8);
            check_variance(net.layer(1).weights(), r2 * r2 / 3, 1.8);
            check_uniform_range(net.layer(0).weights(), r1);
            check_uniform_range(net.layer(1).weights(), r2);
        }
    }
    SECTION("GlorotNormal: N(0, gain² 2 / (fan_in + fan_out))") {
        for (double gain : {1.0, 1.5}) {
            CAPTURE(gain);
            net.initialize(4, nabla::GlorotNormal(gain));
            check_variance(net.layer(0).weights(), gain * gain * 2 / (in1 + out1), 3);
            check_variance(net.layer(1).weights(), gain * gain * 2 / (in2 + out2), 3);
            check_normal_shape(net.layer(0).weights());
            check_normal_shape(net.layer(1).weights());
        }
    }
    SECTION("HeUniform: U(-r, r), r = sqrt(6 / ((1 + a²) fan_in))") {
        for (double a : {0.0, 0.2}) {
            CAPTURE(a);
            net.initialize(5, nabla::HeUniform(a));
            const double r1 = std::sqrt(6 / ((1 + a * a) * in1));
            const double r2 = std::sqrt(6 / ((1 + a * a) * in2));
            check_variance(net.layer(0).weights(), r1 * r1 / 3, 1.8);
            check_variance(net.layer(1).weights(), r2 * r2 / 3, 1.8);
            check_uniform_range(net.layer(0).weights(), r1);
            check_uniform_range(net.layer(1).weights(), r2);
        }
    }
    SECTION("HeNormal: N(0, 2 / ((1 + a²) fan_in))") {
        for (double a : {0.0, 0.2}) {
            CAPTURE(a);
            net.initialize(6, nabla::HeNormal(a));
            check_variance(net.layer(0).weights(), 2 / ((1 + a * a) * in1), 3);
            check_variance(net.layer(1).weights(), 2 / ((1 + a * a) * in2), 3);
            check_normal_shape(net.layer(0).weights());
            check_normal_shape(net.layer(1).weights());
        }
    }
    SECTION("Xavier names Glorot") {
        BigNet other = big_net();
        net.initialize(8, nabla::XavierNormal{});
        other.initialize(8, nabla::GlorotNormal{});
        CHECK(parameters_of(net) == parameters_of(other));
    }
    SECTION("a fixed-size float Network") {
        using Net = nabla::Network<nabla::HalfSquaredError,
                                   nabla::Dense<float, 80, 150, nabla::ReLU>,
                                   nabla::Dense<float, 150, 1, nabla::Identity>>;
        Net fixed;  // W¹ 150 × 80: 12000 entries, 47 kB
        fixed.initialize(9, nabla::HeNormal{});
        check_variance(fixed.layer<0>().weights(), 2.0 / 80, 3);
        check_normal_shape(fixed.layer<0>().weights());
    }
    SECTION("biases start at 0") {
        for (int which = 0; which < 4; ++which) {
            CAPTURE(which);
            dirty_biases(net);
            if (which == 0) net.initialize(1, nabla::GlorotUniform{});
            if (which == 1) net.initialize(1, nabla::GlorotNormal{});
            if (which == 2) net.initialize(1, nabla::HeUniform{});
            if (which == 3) net.initialize(1, nabla::HeNormal{});
            CHECK(all_biases_zero(net));
        }
    }
}

TEST_CASE("init: one seed gives one network bit for bit, another seed another", "[init]") {
    using Net = nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 4, 6, nabla::ReLU>,
                               nabla::Dense<double, 6, 3, nabla::Tanh>>;
    using DynNet = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;
    const auto check_policy = [](const auto& init) {
        Net a;
        Net b;
        Net c;
        a.initialize(11, init);
        b.initialize(11, init);
        c.initialize(12, init);
        CHECK(parameters_of(a) == parameters_of(b));
        CHECK(parameters_of(a) != parameters_of(c));
        DynNet d({4, 6, 3}, {nabla::ReLU{}, nabla::Tanh{}});
        DynNet e({4, 6, 3}, {nabla::ReLU{}, nabla::Tanh{}});
        d.initialize(11, init);
        e.initialize(11, init);
        CHECK(parameters_of(d) == parameters_of(e));
        // Network and DynamicNetwork draw the same sequence.
        CHECK(parameters_of(d) == parameters_of(a));
        e.initialize(12, init);
        CHECK(parameters_of(d) != parameters_of(e));
    };
    SECTION("DefaultInit") { check_policy(nabla::DefaultInit{}); }
    SECTION("GlorotUniform") { check_policy(nabla::GlorotUniform{}); }
    SECTION("GlorotNormal") { check_policy(nabla::GlorotNormal{}); }
    SECTION("HeUniform") { check_policy(nabla::HeUniform{}); }
    SECTION("HeNormal") { check_policy(nabla::HeNormal{}); }
    SECTION("a user callable") {
        check_policy([](const nabla::WeightEntry&, nabla::Rng& rng) { return rng.normal(); });
    }

    SECTION("a float network holds the double network's weights rounded to float") {
        nabla::DynamicNetwork<float, nabla::HalfSquaredError> f({5, 7, 2},
                                                               {nabla::Tanh{}, nabla::Identity{}});
        DynNet d({5, 7, 2}, {nabla::Tanh{}, nabla::Identity{}});
        for (int normal = 0; normal < 2; ++normal) {
            if (normal) {
                f.initialize(21, nabla::GlorotNormal{});
                d.initialize(21, nabla::GlorotNormal{});
            } else {
                f.initialize(21, nabla::GlorotUniform{});
                d.initialize(21, nabla::GlorotUniform{});
            }
            for (std::size_t l = 0; l < 2; ++l) {
                const Eigen::MatrixXf rounded = d.layer(l).weights().cast<float>();
                CHECK(f.layer(l).weights() == rounded);
            }
        }
    }
}

TEST_CASE("init: the default fits the activation, He for ReLU-like layers, else Glorot",
          "[init]") {
    // The documented draws, rebuilt here: one Rng from the seed, layer by layer, W column by
    // column; He uniform r = √(6 / fan_in) for relu and leaky_relu, Glorot uniform
    // r = √(6 / (fan_in + fan_out)) for the others.
    const auto expected_weights = [](std::uint64_t seed, const std::vector<Eigen::Index>& sizes,
                                     const std::vector<bool>& relu_like) {
        nabla::Rng rng(seed);
        std::vector<Matrix> result;
        for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
            const double in = double(sizes[l]);
            const double out = double(sizes[l + 1]);
            const double r = relu_like[l] ? std::sqrt(6 / in) : std::sqrt(6 / (in + out));
            Matrix w(sizes[l + 1], sizes[l]);
            for (Eigen::Index k = 0; k < w.cols(); ++k)
                for (Eigen::Index j = 0; j < w.rows(); ++j) w(j, k) = rng.uniform(-r, r);
            result.push_back(w);
        }
        return result;
    };
    const std::vector<Eigen::Index> sizes{4, 5, 6, 7, 8, 9, 3};
    const std::vector<bool> relu_like{true, true, false, false, false, false};

    SECTION("DynamicNetwork with all six activations") {
        nabla::DynamicNetwork<double, nabla::CrossEntropy> net(
            sizes,
            {nabla::ReLU{}, nabla::LeakyReLU{0.2}, nabla::Sigmoid{}, nabla::Tanh{},
             nabla::Identity{}, nabla::Softmax{}},
            31);
        const std::vector<Matrix> expected = expected_weights(31, sizes, relu_like);
        for (std::size_t l = 0; l < 6; ++l) {
            CAPTURE(l);
            CHECK(net.layer(l).weights() == expected[l]);
        }
        CHECK(all_biases_zero(net));
        dirty_biases(net);
        net.initialize(32);
        const std::vector<Matrix> again = expected_weights(32, sizes, relu_like);
        for (std::size_t l = 0; l < 6; ++l) CHECK(net.layer(l).weights() == again[l]);
        CHECK(all_biases_zero(net));
    }
    SECTION("Network with policy types") {
        using Net = nabla::Network<nabla::CrossEntropy, nabla::Dense<double, 4, 5, nabla::ReLU>,
                                   nabla::Dense<double, 5, 6, nabla::LeakyReLU>,
                                   nabla::Dense<double, 6, 7, nabla::Sigmoid>,
                                   nabla::Dense<double, 7, 8, nabla::Tanh>,
                                   nabla::Dense<double, 8, 9, nabla::Identity>,
                                   nabla::Dense<double, 9, 3, nabla::Softmax>>;
        Net net(33);
        const std::vector<Matrix> expected = expected_weights(33, sizes, relu_like);
        const std::vector<Matrix> got = parameters_of(net);
        for (std::size_t l = 0; l < 6; ++l) {
            CAPTURE(l);
            CHECK(got[2 * l] == expected[l]);
        }
        Net explicit_default(1);
        explicit_default.initialize(33, nabla::DefaultInit{});
        CHECK(parameters_of(explicit_default) == got);
    }
}

TEST_CASE("init: Constant fills W, and b when asked", "[init]") {
    nabla::DynamicNetwork<float, nabla::HalfSquaredError> net({3, 4, 2},
                                                             {nabla::Tanh{}, nabla::Identity{}});
    dirty_biases(net);
    net.initialize(0, nabla::Constant{0.25});
    for (std::size_t l = 0; l < 2; ++l) {
        CHECK((net.layer(l).weights().array() == 0.25f).all());
        CHECK(net.layer(l).bias().isZero(0));
    }
    net.initialize(0, nabla::Constant{-1.5, 0.125});
    for (std::size_t l = 0; l < 2; ++l) {
        CHECK((net.layer(l).weights().array() == -1.5f).all());
        CHECK((net.layer(l).bias().array() == 0.125f).all());
    }
    CHECK(net.layer(1).weights().rows() == 2);
    CHECK(net.layer(1).weights().cols() == 4);
}

TEST_CASE("init: a user callable sees each entry with its layer and fans", "[init]") {
    struct Call {
        Eigen::Index row, col, fan_in, fan_out;
        std::size_t layer;
    };
    const auto run = [](auto& net) {
        std::vector<Call> calls;
        net.initialize(3, [&](const nabla::WeightEntry& w, nabla::Rng&) {
            calls.push_back({w.row, w.col, w.fan_in, w.fan_out, w.layer});
            return 1000.0 * double(w.layer + 1) + 10.0 * double(w.row) + double(w.col);
        });
        // Expected: layer 1 (W 4×3), then layer 2 (W 2×4), each column by column.
        std::vector<Call> expected;
        const Eigen::Index shapes[2][2] = {{4, 3}, {2, 4}};
        for (std::size_t l = 0; l < 2; ++l)
            for (Eigen::Index k = 0; k < shapes[l][1]; ++k)
                for (Eigen::Index j = 0; j < shapes[l][0]; ++j)
                    expected.push_back({j, k, shapes[l][1], shapes[l][0], l});
        REQUIRE(calls.size() == expected.size());
        for (std::size_t i = 0; i < calls.size(); ++i) {
            CAPTURE(i);
            CHECK(calls[i].row == expected[i].row);
            CHECK(calls[i].col == expected[i].col);
            CHECK(calls[i].fan_in == expected[i].fan_in);
            CHECK(calls[i].fan_out == expected[i].fan_out);
            CHECK(calls[i].layer == expected[i].layer);
        }
        // Each value landed at W(row, col) of its layer.
        const std::vector<Matrix> p = parameters_of(net);
        for (std::size_t l = 0; l < 2; ++l)
            for (Eigen::Index k = 0; k < p[2 * l].cols(); ++k)
                for (Eigen::Index j = 0; j < p[2 * l].rows(); ++j)
                    CHECK(p[2 * l](j, k) == 1000.0 * double(l + 1) + 10.0 * double(j) + k);
        CHECK(p[1].isZero(0));
        CHECK(p[3].isZero(0));
    };
    SECTION("DynamicNetwork") {
        nabla::DynamicNetwork<double, nabla::HalfSquaredError> net(
            {3, 4, 2}, {nabla::Sigmoid{}, nabla::Identity{}});
        run(net);
    }
    SECTION("Network") {
        nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 3, 4, nabla::Sigmoid>,
                       nabla::Dense<double, 4, 2, nabla::Identity>>
            net;
        run(net);
    }
    SECTION("the callable draws from the network's generator, seeded") {
        nabla::DynamicNetwork<double, nabla::HalfSquaredError> net(
            {3, 4, 2}, {nabla::Sigmoid{}, nabla::Identity{}});
        const auto draw = [](const nabla::WeightEntry&, nabla::Rng& rng) { return rng.uniform(); };
        net.initialize(44, draw);
        nabla::Rng rng(44);
        for (std::size_t l = 0; l < 2; ++l) {
            const Matrix& w = net.layer(l).weights();
            for (Eigen::Index k = 0; k < w.cols(); ++k)
                for (Eigen::Index j = 0; j < w.rows(); ++j) CHECK(w(j, k) == rng.uniform());
        }
        const std::vector<Matrix> bare = parameters_of(net);
        net.initialize(44, nabla::FromFunction{draw});
        CHECK(parameters_of(net) == bare);
    }
}

TEST_CASE("init: PerLayer gives each layer its own initializer", "[init]") {
    using Net = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;
    Net net({3, 4, 2}, {nabla::ReLU{}, nabla::Identity{}});
    Net he_only = net;
    he_only.initialize(9, nabla::HeNormal{});
    net.initialize(9, nabla::PerLayer{nabla::HeNormal{}, nabla::Constant{0.5, 0.1}});
    // Layer 1 is drawn first, from the same generator: as with HeNormal alone.
    CHECK(net.layer(0).weights() == he_only.layer(0).weights());
    CHECK((net.layer(1).weights().array() == 0.5).all());
    CHECK((net.layer(1).bias().array() == 0.1).all());

    SECTION("a bare callable inside PerLayer") {
        net.initialize(9, nabla::PerLayer{nabla::Constant{2.0},
                                          [](const nabla::WeightEntry& w, nabla::Rng&) {
                                              return double(w.row);
                                          }});
        CHECK((net.layer(0).weights().array() == 2.0).all());
        CHECK(net.layer(1).weights()(1, 3) == 1.0);
        CHECK(net.layer(1).weights()(0, 3) == 0.0);
    }
    SECTION("a count that does not fit throws ConfigError and changes nothing") {
        const std::vector<Matrix> before = parameters_of(net);
        const std::string message = message_of<nabla::ConfigError>([&] {
            net.initialize(1, nabla::PerLayer{nabla::HeNormal{}, nabla::HeNormal{},
                                              nabla::HeNormal{}});
        });
        CHECK(message == "nabla: PerLayer: 3 initializers given for a network of 2 layers");
        CHECK(parameters_of(net) == before);
        nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 3, 4, nabla::ReLU>,
                       nabla::Dense<double, 4, 2, nabla::Identity>>
            fixed;
        CHECK(message_of<nabla::ConfigError>([&] {
                  fixed.initialize(1, nabla::PerLayer{nabla::HeNormal{}});
              }) == "nabla: PerLayer: 1 initializer given for a network of 2 layers");
    }
}

TEST_CASE("init: options out of range throw ConfigError naming them", "[init][errors]") {
    const double nan = std::nan("");
    const double inf = std::numeric_limits<double>::infinity();
    CHECK(message_of<nabla::ConfigError>([] { nabla::GlorotUniform(0.0); }) ==
          "nabla: GlorotUniform: gain must be positive and finite, got 0");
    CHECK(message_of<nabla::ConfigError>([] { nabla::GlorotNormal(-2.0); }) ==
          "nabla: GlorotNormal: gain must be positive and finite, got -2");
    CHECK(message_of<nabla::ConfigError>([&] { nabla::HeUniform{inf}; }) ==
          "nabla: HeUniform: negative_slope must be finite, got inf");
    CHECK(message_of<nabla::ConfigError>([&] { nabla::HeNormal{nan}; }) ==
          "nabla: HeNormal: negative_slope must be finite, got nan");
    CHECK(message_of<nabla::ConfigError>([&] { nabla::Constant{nan}; }) ==
          "nabla: Constant: weight must be finite, got nan");
    CHECK(message_of<nabla::ConfigError>([&] { nabla::Constant(0.0, -inf); }) ==
          "nabla: Constant: bias must be finite, got -inf");
}

TEST_CASE("init: with the default initialisation a [2,3,1] sigmoid net learns XOR with plain SGD",
          "[init][training]") {
    using Net =
        nabla::Network<nabla::BinaryCrossEntropy, nabla::Dense<double, 2, 3, nabla::Sigmoid>,
                       nabla::Dense<double, 3, 1, nabla::Sigmoid>>;
    Eigen::Matrix<double, 2, 4> x;
    x << 0, 0, 1, 1,
         0, 1, 0, 1;
    Eigen::Matrix<double, 1, 4> y;
    y << 0, 1, 1, 0;
    const auto train = [&](Net& net) {
        nabla::Sgd sgd(2.0);
        Net::Workspace<4> ws;
        for (int epoch = 0; epoch < 5000; ++epoch) {
            net.backward(x, y, ws);
            sgd.step(net, ws);
        }
        return net.loss(x, y);
    };
    // Full batch, η = 2, 5000 epochs. Over seeds 0–49 the final loss lies in [0.0006, 0.0015].
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
        CAPTURE(seed);
        Net net(seed);
        CHECK(train(net) < 0.01);
        const Eigen::Matrix<double, 1, 4> prediction = net.predict(x);
        for (Eigen::Index k = 0; k < 4; ++k) {
            CAPTURE(k, prediction(0, k));
            CHECK((prediction(0, k) > 0.5) == (y(0, k) > 0.5));
        }
    }
    // A documented fact, not a requirement: drawn from N(0, 0.01²) instead, the same net and
    // budget only learn the mean, output 0.5 and loss ln 2 (seeds 0–49; seeds 0–9 are still
    // there after 50000 epochs). XOR's target is uncorrelated with each input, and with weights
    // near 0 the net is nearly linear in its inputs, so over the four samples the gradients that
    // would grow the weights nearly cancel, and the weights stay near 0.
    for (std::uint64_t seed = 0; seed < 3; ++seed) {
        CAPTURE(seed);
        Net net(seed);
        net.initialize(seed, [](const nabla::WeightEntry&, nabla::Rng& rng) {
            return rng.normal(0.0, 0.01);
        });
        CHECK(std::abs(train(net) - std::log(2.0)) < 1e-3);
    }
}

}  // namespace test_init
