// Extending nabla from a program's own file (docs/extending.md), with no file of nabla changed:
// an element-wise activation (softsign), a vector-valued activation with an attribute (softmax
// at a temperature T), a loss (log-cosh) and a layer with two parameter blocks and an attribute
// (a per-unit gain and shift), all defined here outside namespace nabla. They train with fit(),
// pass gradient checks in Network and DynamicNetwork, save and load bit for bit (load() with no
// registration, load_network() after it); a file naming an activation or layer type the
// program has not registered is refused by name; the registries refuse a second type under a
// taken name and list the names they know.

#include "catch.hpp"
#include "temp_files.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

namespace test_extending {  // named for the unity build of nabla_tests

// ---------------------------------------------------------------------------------------------
// The program's own types, as a user would write them.
namespace user {

/// a = z / (1 + |z|); σ'(z) = 1 / (1 + |z|)².
struct Softsign : nabla::ElementWise<Softsign> {
    static constexpr const char* name() { return "softsign"; }

    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        using Scalar = typename Z::Scalar;
        a.derived().array() = z.array() / (Scalar(1) + z.array().abs());
    }

    template <class Z, class A>
    auto derivative(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>&) const {
        using Scalar = typename Z::Scalar;
        return (Scalar(1) + z.array().abs()).square().inverse();
    }
};

/// a = softmax(z / T) per column; δ = (1/T) a ⊙ (∂C/∂a − aᵀ∂C/∂a). T is saved with the model.
struct TemperedSoftmax {
    static constexpr const char* name() { return "tempered_softmax"; }
    static constexpr bool is_elementwise = false;

    double temperature = 1;

    TemperedSoftmax() = default;
    explicit TemperedSoftmax(double t) : temperature(t) {}

    void write_attributes(nabla::Attributes& out) const { out.set("temperature", temperature); }
    static TemperedSoftmax from_attributes(const nabla::Attributes& in) {
        return TemperedSoftmax(in.get_or("temperature", 1.0));
    }

    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        using Scalar = typename Z::Scalar;
        const Scalar inverse_t = Scalar(1 / temperature);
        for (Eigen::Index j = 0; j < z.cols(); ++j) {
            a.derived().col(j).array() = ((z.col(j).array() - z.col(j).maxCoeff()) * inverse_t).exp();
            a.derived().col(j) /= a.derived().col(j).sum();
        }
    }

    template <class Z, class A, class G, class D>
    void backward(const Eigen::MatrixBase<Z>&, const Eigen::MatrixBase<A>& a,
                  const Eigen::MatrixBase<G>& da, Eigen::MatrixBase<D>& delta) const {
        using Scalar = typename A::Scalar;
        const Scalar inverse_t = Scalar(1 / temperature);
        for (Eigen::Index j = 0; j < a.cols(); ++j) {
            const Scalar weighted = a.col(j).dot(da.col(j));
            delta.derived().col(j).array() =
                inverse_t * a.col(j).array() * (da.col(j).array() - weighted);
        }
    }
};

/// C = mean over the samples of Σⱼ log cosh(aⱼ − yⱼ); ∂C/∂a = tanh(a − y) per sample.
struct LogCosh {
    static constexpr const char* name() { return "LogCosh"; }

    template <class A, class Y>
    static typename A::Scalar cost(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<Y>& y) {
        using Scalar = typename A::Scalar;
        // log cosh r = |r| + log1p(e^−2|r|) − log 2, which does not overflow.
        const auto r = (a - y).array().abs();
        const Scalar total = (r + (Scalar(-2) * r).exp().log1p() - Scalar(std::log(2.0))).sum();
        return total / Scalar(a.cols());
    }

    template <class A, class Y, class G>
    static void gradient(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<Y>& y,
                         Eigen::MatrixBase<G>& da) {
        da.derived() = (a - y).array().tanh().matrix();
    }
};

/// a = g ⊙ x + c: a learned gain g and shift c per unit (blocks "g" then "c"); g starts at the
/// attribute "start", c at 0.
template <class Scalar_>
class Affine {
public:
    using Scalar = Scalar_;
    static constexpr int InputsAtCompileTime = Eigen::Dynamic;
    static constexpr int OutputsAtCompileTime = Eigen::Dynamic;
    static constexpr int ParametersAtCompileTime = Eigen::Dynamic;
    using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

    template <int Batch>
    struct State : nabla::LayerBuffers<Scalar, Eigen::Dynamic, Batch> {
        nabla::GradientView<Vector> dg;  ///< ∂C/∂g
        nabla::GradientView<Vector> dc;  ///< ∂C/∂c
        void bind_gradients(Scalar* gradients) {
            dg.bind(gradients);
            dc.bind(gradients ? gradients + dg.size() : nullptr);
        }
    };

    static constexpr const char* type_name() { return "Affine"; }

    Affine(Eigen::Index units, double start)
        : m_gain(Vector::Constant(units, Scalar(start))), m_shift(Vector::Zero(units)),
          m_start(start) {}
    static Affine from_spec(const nabla::LayerSpec& spec) {
        return Affine(spec.outputs, spec.attributes.get("start", "Affine"));
    }
    void write_attributes(nabla::Attributes& out) const { out.set("start", m_start); }

    double start() const { return m_start; }
    const Vector& gain() const { return m_gain; }
    const Vector& shift() const { return m_shift; }
    void set(const Vector& gain, const Vector& shift) {
        m_gain = gain;
        m_shift = shift;
    }

    Eigen::Index inputs() const { return m_gain.size(); }
    Eigen::Index outputs() const { return m_gain.size(); }
    Eigen::Index parameter_count() const { return 2 * m_gain.size(); }
    template <class F>
    void for_each_parameter(F&& f) {
        f(m_gain, "g");
        f(m_shift, "c");
    }
    template <class F>
    void for_each_parameter(F&& f) const {
        f(m_gain, "g");
        f(m_shift, "c");
    }

    template <int Batch>
    void prepare(State<Batch>& state, Eigen::Index batch, Scalar* gradients) const {
        state.resize_buffers(outputs(), batch);
        state.dg.bind(gradients, outputs(), 1);
        state.dc.bind(gradients + outputs(), outputs(), 1);
    }

    template <class Input, int Batch>
    void forward(const Eigen::MatrixBase<Input>& x, State<Batch>& state, const nabla::Pass&) const {
        state.a = m_gain.asDiagonal() * x;  // a = g ⊙ x
        state.a.colwise() += m_shift;       //     + c
    }

    template <class Input, int Batch>
    void backward(const Eigen::MatrixBase<Input>& x, State<Batch>& state,
                  const nabla::BackwardPass& how) const {
        if (!how.store_gradients) return;
        state.dg = state.da.cwiseProduct(x).rowwise().mean();  // mean of ∂C/∂a ⊙ x
        state.dc = state.da.rowwise().mean();                  // mean of ∂C/∂a
    }

    template <int Batch, class Below>
    void propagate(const State<Batch>& state, Below&& da_below) const {
        da_below = m_gain.asDiagonal() * state.da;  // ∂C/∂x = g ⊙ ∂C/∂a
    }

private:
    Vector m_gain;
    Vector m_shift;
    double m_start;
};

/// An activation no test registers: load_network must refuse a file that names it.
struct Unlisted : nabla::ElementWise<Unlisted> {
    static constexpr const char* name() { return "unlisted_activation"; }

    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        a.derived() = z;
    }
    template <class Z, class A>
    auto derivative(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>&) const {
        using Scalar = typename Z::Scalar;
        return Z::PlainObject::Constant(z.rows(), z.cols(), Scalar(1)).array();
    }
};

/// Another type under a built-in's name.
struct NotReLU : Softsign {
    static constexpr const char* name() { return "relu"; }
};

/// Another layer type under a built-in's name.
struct NotDense : Affine<double> {
    using Affine<double>::Affine;
    static constexpr const char* type_name() { return "Dense"; }
    static NotDense from_spec(const nabla::LayerSpec& spec) { return NotDense(spec.outputs, 1.0); }
};

}  // namespace user
// ---------------------------------------------------------------------------------------------

namespace {

using nabla::AnyActivation;
using nabla_test::contains;
using nabla_test::message_of;
using nabla_test::random_matrix;
using nabla_test::same_parameters;
using user::Affine;
using user::LogCosh;
using user::Softsign;
using user::TemperedSoftmax;

constexpr int dynamic = Eigen::Dynamic;
using MatrixD = Eigen::MatrixXd;
using Long = long double;

template <class A>
using DenseD = nabla::Dense<double, dynamic, dynamic, A>;
using AnyDense = nabla::DynamicNetwork<double, LogCosh>::Layer;

void register_user_types() {
    CHECK(nabla::register_activation<Softsign>());
    CHECK(nabla::register_activation<TemperedSoftmax>());
    CHECK(nabla::register_layer<Affine<double>>());
}

/// The largest gradient-check step over a network's parameters, ε^(1/3)·max(1, max |p|).
template <class Net>
double largest_step(const Net& net) {
    const double top = nabla::copy_parameters(net).cwiseAbs().maxCoeff();
    return std::cbrt(std::numeric_limits<double>::epsilon()) * std::max(1.0, top);
}

/// Σ log cosh(a − y) over the batch, divided by its columns, by hand in long double.
Long log_cosh_by_hand(const MatrixD& a, const MatrixD& y) {
    Long total = 0;
    for (Eigen::Index k = 0; k < a.cols(); ++k)
        for (Eigen::Index j = 0; j < a.rows(); ++j) total += std::log(std::cosh(Long(a(j, k)) - y(j, k)));
    return total / Long(a.cols());
}

}  // namespace

TEST_CASE("extending: the custom activations and loss by hand", "[extending]") {
    // The pieces themselves, so that the tests below test nabla's handling of them.
    MatrixD z(3, 2);
    z << -2, 0.5, 0, -1, 3, 1e4;
    MatrixD a(3, 2);
    Softsign{}.forward(z, a);
    for (Eigen::Index i = 0; i < z.size(); ++i) CHECK(std::abs(a(i) - z(i) / (1 + std::abs(z(i)))) <= 1e-16);
    TemperedSoftmax{2}.forward(z, a);
    for (Eigen::Index k = 0; k < 2; ++k) {
        Long sum = 0;
        for (Eigen::Index j = 0; j < 3; ++j) sum += std::exp((Long(z(j, k)) - z.col(k).maxCoeff()) / 2);
        for (Eigen::Index j = 0; j < 3; ++j)
            CHECK(std::abs(Long(a(j, k)) - std::exp((Long(z(j, k)) - z.col(k).maxCoeff()) / 2) / sum) <= 1e-15L);
    }
    const MatrixD y = random_matrix<MatrixD>(3, 2, 1);
    const MatrixD out = random_matrix<MatrixD>(3, 2, 2, -30, 30);
    CHECK(std::abs(Long(LogCosh::cost(out, y)) - log_cosh_by_hand(out, y)) <= 1e-14L * log_cosh_by_hand(out, y));
}

TEST_CASE("extending: a DynamicNetwork of the program's activations and loss trains, saves and "
          "loads back bit for bit",
          "[extending]") {
    register_user_types();
    nabla_test::TempDir dir;
    const std::string path = dir.file("user.nbl");
    using Net = nabla::DynamicNetwork<double, LogCosh>;
    const MatrixD x = random_matrix<MatrixD>(4, 64, 11, -2, 2);
    const MatrixD y = nabla_test::one_hot_targets<MatrixD>(3, 64);

    Net net({4, 8, 3}, {AnyActivation::parse("softsign"), AnyActivation(TemperedSoftmax{2.0})}, 12);
    CHECK(std::string(net.layer(0).activation().name()) == "softsign");
    const double initial = net.loss(x, y);
    nabla::Adam adam(0.02);
    nabla::FitOptions options;
    options.epochs = 60;
    options.batch_size = 16;
    options.progress.mode = nabla::ProgressMode::silent;
    const nabla::History history = nabla::fit(net, adam, x, y, options);
    const double trained = net.loss(x, y);
    CAPTURE(initial, trained, history.epochs.front().loss, history.epochs.back().loss);
    CHECK(history.epochs.back().loss < history.epochs.front().loss);
    CHECK(trained < 0.8 * initial);
    // The cost is LogCosh's, on the network's outputs.
    CHECK(std::abs(Long(trained) - log_cosh_by_hand(net.predict(x), y)) <= 1e-13L * trained);

    nabla::save(net, path);
    const nabla::ModelInfo info = nabla::read_model_info(path);
    CHECK(info.version == 2);
    CHECK(info.loss == "LogCosh");
    REQUIRE(info.layers.size() == 2);
    CHECK(info.layers[0].activation.name == "softsign");
    CHECK(info.layers[1].activation.name == "tempered_softmax");
    CHECK(info.layers[1].activation.attributes == nabla::Attributes{{"temperature", 2.0}});

    const Net loaded = nabla::load_network<double, LogCosh>(path);
    CHECK(loaded.layer(0).activation() == AnyActivation(Softsign{}));
    CHECK(loaded.layer(1).activation() == AnyActivation(TemperedSoftmax{2.0}));
    CHECK(loaded.layer(1).activation() != AnyActivation(TemperedSoftmax{3.0}));
    CHECK(same_parameters(loaded, net));
    CHECK(loaded.predict(x) == net.predict(x));

    // load() into a network of another temperature: FileError naming both.
    Net other({4, 8, 3}, {AnyActivation(Softsign{}), AnyActivation(TemperedSoftmax{3.0})}, 13);
    const Net before = other;
    const std::string message = message_of<nabla::FileError>([&] { nabla::load(other, path); });
    CAPTURE(message);
    CHECK(contains(message, "temperature 2"));
    CHECK(contains(message, "temperature 3"));
    CHECK(same_parameters(other, before));
}

TEST_CASE("extending: a compile-time Network of the same layers saves and loads with load()",
          "[extending]") {
    register_user_types();
    nabla_test::TempDir dir;
    const std::string path = dir.file("user_static.nbl");
    using Net = nabla::Network<LogCosh, DenseD<Softsign>, DenseD<TemperedSoftmax>>;
    const auto make = [](double temperature, std::uint64_t seed) {
        Net net(std::make_tuple(DenseD<Softsign>(4, 8),
                                DenseD<TemperedSoftmax>(8, 3, TemperedSoftmax{temperature})));
        net.initialize(seed);
        return net;
    };
    const MatrixD x = random_matrix<MatrixD>(4, 48, 21, -2, 2);
    const MatrixD y = nabla_test::one_hot_targets<MatrixD>(3, 48);

    Net net = make(2.0, 22);
    const double initial = net.loss(x, y);
    nabla::Adam adam(0.02);
    nabla::FitOptions options;
    options.epochs = 40;
    options.batch_size = 16;
    options.progress.mode = nabla::ProgressMode::silent;
    nabla::fit(net, adam, x, y, options);
    CHECK(net.loss(x, y) < initial);

    nabla::save(net, path);
    CHECK(nabla::read_model_info(path).version == 2);
    Net same = make(2.0, 23);
    REQUIRE_FALSE(same_parameters(same, net));
    nabla::load(same, path);
    CHECK(same_parameters(same, net));
    CHECK(same.predict(x) == net.predict(x));

    Net other = make(3.0, 24);
    const Net before = other;
    CHECK_THROWS_AS(nabla::load(other, path), nabla::FileError);
    CHECK(same_parameters(other, before));

    // The same file as a DynamicNetwork: the same parameters, the same predictions to an ulp.
    const nabla::DynamicNetwork<double, LogCosh> loaded = nabla::load_network<double, LogCosh>(path);
    CHECK(same_parameters(loaded, net));
    CHECK((loaded.predict(x) - net.predict(x)).cwiseAbs().maxCoeff() <= 1e-15);
}

namespace {

/// gradient_check of `net` on x, y below 1e-7; `margin`, when positive, is the smallest |z| of
/// the layers with a kink in σ'' (softsign at 0), which must clear the check's steps.
template <class Net>
void check_gradients(const Net& net, const MatrixD& x, const MatrixD& y, double margin = -1) {
    if (margin >= 0) {
        CAPTURE(margin, largest_step(net));
        REQUIRE(margin > 100 * largest_step(net));
    }
    const nabla::GradientCheckReport report = nabla::gradient_check(net, x, y);
    CAPTURE(report.worst());
    CHECK(report.worst() < 1e-7);
    REQUIRE(report.layers.size() == std::size_t(net.layer_count()));
}

}  // namespace

TEST_CASE("extending: gradient checks through each of the program's pieces", "[extending]") {
    register_user_types();
    const MatrixD x = random_matrix<MatrixD>(4, 7, 31, -1.5, 1.5);
    const MatrixD y = random_matrix<MatrixD>(3, 7, 32, 0, 1);

    SECTION("softsign hidden layer") {
        using Net = nabla::Network<nabla::HalfSquaredError, DenseD<Softsign>, DenseD<nabla::Identity>>;
        Net net(std::make_tuple(DenseD<Softsign>(4, 6), DenseD<nabla::Identity>(6, 3)));
        net.initialize(33);
        Net::Workspace<> ws;
        net.backward(x, y, ws);
        check_gradients(net, x, y, ws.layer<0>().z.cwiseAbs().minCoeff());

        nabla::DynamicNetwork<double, nabla::HalfSquaredError> dyn(
            {4, 6, 3}, {AnyActivation::parse("softsign"), nabla::Identity{}}, 33);
        REQUIRE(same_parameters(dyn, net));
        check_gradients(dyn, x, y, ws.layer<0>().z.cwiseAbs().minCoeff());
    }
    SECTION("tempered softmax output layer") {
        using Net = nabla::Network<nabla::HalfSquaredError, DenseD<nabla::Tanh>, DenseD<TemperedSoftmax>>;
        Net net(std::make_tuple(DenseD<nabla::Tanh>(4, 6),
                                DenseD<TemperedSoftmax>(6, 3, TemperedSoftmax{0.5})));
        net.initialize(34);
        check_gradients(net, x, y);
        nabla::DynamicNetwork<double, nabla::HalfSquaredError> dyn(
            {4, 6, 3},
            {nabla::Tanh{}, nabla::ActivationRegistry::instance().make(
                                "tempered_softmax", {{"temperature", 0.5}})},
            34);
        REQUIRE(same_parameters(dyn, net));
        check_gradients(dyn, x, y);
        // Control: the temperature matters to the gradient, so a wrong 1/T would show.
        nabla::DynamicNetwork<double, nabla::HalfSquaredError> plain(
            {4, 6, 3}, {nabla::Tanh{}, nabla::Softmax{}}, 34);
        decltype(plain)::Workspace<> ws_plain;
        decltype(dyn)::Workspace<> ws_tempered;
        plain.backward(x, y, ws_plain);
        dyn.backward(x, y, ws_tempered);
        CHECK((ws_plain.gradient_vector() - ws_tempered.gradient_vector()).cwiseAbs().maxCoeff() > 1e-3);
    }
    SECTION("log-cosh loss") {
        using Net = nabla::Network<LogCosh, DenseD<nabla::Tanh>, DenseD<nabla::Identity>>;
        Net net(std::make_tuple(DenseD<nabla::Tanh>(4, 6), DenseD<nabla::Identity>(6, 3)));
        net.initialize(35);
        // Outputs far from the targets too, where tanh(a − y) saturates.
        const MatrixD far = y * 4 - MatrixD::Constant(3, 7, 2);
        check_gradients(net, x, y);
        check_gradients(net, x, far);
        nabla::DynamicNetwork<double, LogCosh> dyn({4, 6, 3}, {nabla::Tanh{}, nabla::Identity{}}, 35);
        check_gradients(dyn, x, y);
    }
    SECTION("affine layer between Dense layers") {
        using Net = nabla::Network<nabla::HalfSquaredError, DenseD<nabla::Tanh>, Affine<double>,
                                   DenseD<nabla::Identity>>;
        Net net(std::make_tuple(DenseD<nabla::Tanh>(4, 6), Affine<double>(6, 1.5),
                                DenseD<nabla::Identity>(6, 3)));
        net.initialize(36);
        net.layer<1>().set(random_matrix<Affine<double>::Vector>(6, 1, 37, 0.5, 2),
                           random_matrix<Affine<double>::Vector>(6, 1, 38, -1, 1));
        check_gradients(net, x, y);
        nabla::DynamicNetwork<double, nabla::HalfSquaredError> dyn(std::vector<nabla::AnyLayer<double>>{
            nabla::DynamicNetwork<double, nabla::HalfSquaredError>::Layer(4, 6, nabla::Tanh{}),
            net.layer<1>(),
            nabla::DynamicNetwork<double, nabla::HalfSquaredError>::Layer(6, 3, nabla::Identity{})});
        nabla::set_parameters(dyn, nabla::copy_parameters(net));
        check_gradients(dyn, x, y);
    }
    SECTION("all four together") {
        using Net = nabla::Network<LogCosh, DenseD<Softsign>, Affine<double>, DenseD<TemperedSoftmax>>;
        Net net(std::make_tuple(DenseD<Softsign>(4, 6), Affine<double>(6, 0.75),
                                DenseD<TemperedSoftmax>(6, 3, TemperedSoftmax{1.5})));
        net.initialize(39);
        Net::Workspace<> ws;
        net.backward(x, y, ws);
        check_gradients(net, x, y, ws.layer<0>().z.cwiseAbs().minCoeff());
    }
}

TEST_CASE("extending: a file naming an activation the program has not registered is refused by "
          "name",
          "[extending]") {
    nabla_test::TempDir dir;
    const std::string path = dir.file("unlisted.nbl");
    REQUIRE_FALSE(nabla::ActivationRegistry::instance().contains("unlisted_activation"));
    using Net = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;
    // AnyActivation holds it with no registration, and the network trains and saves.
    const Net net({3, 4, 2}, {AnyActivation(user::Unlisted{}), nabla::Identity{}}, 41);
    const MatrixD x = random_matrix<MatrixD>(3, 5, 42);
    nabla::save(net, path);

    const std::string message = message_of<nabla::FileError>(
        [&] { nabla::load_network<double, nabla::HalfSquaredError>(path); });
    CAPTURE(message);
    CHECK(contains(message, path));
    CHECK(contains(message, "layer 1"));
    CHECK(contains(message, "\"unlisted_activation\""));
    CHECK(contains(message, "register_activation"));
    CHECK(contains(message, "relu"));  // the names it knows

    // What needs no registry: reading the file's description, and load() into a network that
    // holds the activation already.
    const nabla::ModelInfo info = nabla::read_model_info(path);
    CHECK(info.layers[0].activation.name == "unlisted_activation");
    Net same({3, 4, 2}, {AnyActivation(user::Unlisted{}), nabla::Identity{}}, 43);
    nabla::load(same, path);
    CHECK(same.predict(x) == net.predict(x));
    using Static = nabla::Network<nabla::HalfSquaredError, DenseD<user::Unlisted>, DenseD<nabla::Identity>>;
    Static fixed({3, 4, 2}, 44);
    nabla::load(fixed, path);
    CHECK(same_parameters(fixed, net));
    CHECK_FALSE(nabla::ActivationRegistry::instance().contains("unlisted_activation"));
}

TEST_CASE("extending: the program's layer in a Network and a DynamicNetwork", "[extending]") {
    register_user_types();
    nabla_test::TempDir dir;
    const std::string path = dir.file("affine.nbl");
    using Net = nabla::Network<nabla::HalfSquaredError, DenseD<nabla::Tanh>, Affine<double>,
                               DenseD<nabla::Identity>>;
    using Dyn = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;
    const MatrixD x = random_matrix<MatrixD>(3, 40, 51, -1.5, 1.5);
    const MatrixD y = (x.array().square().colwise().sum() / 3).matrix().replicate(2, 1);

    Net net(std::make_tuple(DenseD<nabla::Tanh>(3, 5), Affine<double>(5, 1.25),
                            DenseD<nabla::Identity>(5, 2)));
    net.initialize(52);
    // initialize() leaves a layer without initialize() as it is.
    CHECK(net.layer<1>().gain() == Affine<double>::Vector::Constant(5, 1.25));
    CHECK(net.layer<1>().shift() == Affine<double>::Vector::Zero(5));
    CHECK(net.parameter_count() == (5 * 3 + 5) + 10 + (2 * 5 + 2));

    SECTION("trained by fit(), saved, loaded by load() and by load_network()") {
        const double initial = net.loss(x, y);
        nabla::Adam adam(0.02);
        nabla::FitOptions options;
        options.epochs = 50;
        options.batch_size = 8;
        options.progress.mode = nabla::ProgressMode::silent;
        nabla::fit(net, adam, x, y, options);
        CHECK(net.loss(x, y) < initial);
        CHECK(net.layer<1>().gain() != Affine<double>::Vector::Constant(5, 1.25));  // it learned
        CHECK(net.layer<1>().shift() != Affine<double>::Vector::Zero(5));
        check_gradients(net, x.leftCols(6), y.leftCols(6));

        nabla::save(net, path);
        const nabla::ModelInfo info = nabla::read_model_info(path);
        CHECK(info.version == 2);
        REQUIRE(info.layers.size() == 3);
        CHECK(info.layers[1].type == "Affine");
        CHECK(info.layers[1].attributes == nabla::Attributes{{"start", 1.25}});
        CHECK(info.layers[1].blocks.size() == 2);
        CHECK(info.layers[1].activation.name.empty());

        Net same(std::make_tuple(DenseD<nabla::Tanh>(3, 5), Affine<double>(5, 1.25),
                                 DenseD<nabla::Identity>(5, 2)));
        nabla::load(same, path);
        CHECK(same_parameters(same, net));
        CHECK(same.predict(x) == net.predict(x));
        Net other_start(std::make_tuple(DenseD<nabla::Tanh>(3, 5), Affine<double>(5, 2.0),
                                        DenseD<nabla::Identity>(5, 2)));
        CHECK_THROWS_AS(nabla::load(other_start, path), nabla::FileError);

        const Dyn loaded = nabla::load_network<double, nabla::HalfSquaredError>(path);
        REQUIRE(loaded.layer_count() == 3);
        CHECK(loaded.layer_as<Affine<double>>(1).start() == 1.25);
        CHECK(loaded.layer_as<Affine<double>>(1).gain() == net.layer<1>().gain());
        CHECK(loaded.layer_as<Affine<double>>(1).shift() == net.layer<1>().shift());
        CHECK(same_parameters(loaded, net));
        CHECK((loaded.predict(x) - net.predict(x)).cwiseAbs().maxCoeff() <= 1e-15);
        CHECK_THROWS_AS(loaded.layer(1), nabla::ConfigError);  // layer(i) is for Dense layers
    }
    SECTION("in a DynamicNetwork: gradient-checked, trained, saved and loaded bit for bit") {
        Dyn dyn(std::vector<nabla::AnyLayer<double>>{Dyn::Layer(3, 5, nabla::Tanh{}),
                                                     Affine<double>(5, 1.25),
                                                     Dyn::Layer(5, 2, nabla::Identity{})});
        dyn.initialize(52);
        CHECK(same_parameters(dyn, net));
        check_gradients(dyn, x.leftCols(6), y.leftCols(6));
        const double initial = dyn.loss(x, y);
        nabla::Sgd sgd(0.05);  // a plain step: train_step steps the layer from its stored gradient
        nabla::FitOptions options;
        options.epochs = 30;
        options.batch_size = 8;
        options.progress.mode = nabla::ProgressMode::silent;
        nabla::fit(dyn, sgd, x, y, options);
        CHECK(dyn.loss(x, y) < initial);
        CHECK(dyn.layer_as<Affine<double>>(1).gain() != Affine<double>::Vector::Constant(5, 1.25));

        nabla::save(dyn, path);
        const Dyn loaded = nabla::load_network<double, nabla::HalfSquaredError>(path);
        CHECK(std::string(loaded.any_layer(1).type_name()) == "Affine");
        CHECK(same_parameters(loaded, dyn));
        CHECK(loaded.predict(x) == dyn.predict(x));
    }
    SECTION("a copied workspace points its views at its own gradients") {
        Net::Workspace<> ws;
        net.backward(x, y, ws);
        const Net::Workspace<> copy = ws;
        const auto& record = copy.record(1);
        CHECK(copy.layer<1>().dg.data() == copy.gradient_vector().data() + record.offset);
        CHECK(copy.layer<1>().dc.data() == copy.gradient_vector().data() + record.offset + 5);
        Dyn dyn(std::vector<nabla::AnyLayer<double>>{Dyn::Layer(3, 5, nabla::Tanh{}),
                                                     Affine<double>(5, 1.25),
                                                     Dyn::Layer(5, 2, nabla::Identity{})});
        Dyn::Workspace<> dws;
        dyn.backward(x, y, dws);
        Dyn::Workspace<> dcopy = dws;
        const auto& held = dcopy.layer(1).as<Affine<double>::State<dynamic>>();
        CHECK(held.dg.data() == dcopy.gradient_vector().data() + dcopy.record(1).offset);
        // Another backward pass on the copy leaves the original's gradients alone.
        const Eigen::VectorXd original = dws.gradient_vector();
        dyn.backward(x.leftCols(20), y.leftCols(20), dcopy);
        CHECK(dws.gradient_vector() == original);
        CHECK(dcopy.gradient_vector() != original);
    }
    SECTION("the L1 penalty and gradient clipping take its gradients through the parameter list") {
        Net::Workspace<> ws;
        net.backward(x, y, ws);
        const Eigen::VectorXd before = ws.gradient_vector();
        nabla::add_l1_penalty(net, ws, 0.1);
        const auto& record = ws.record(1);
        // Its blocks are not named "W": no penalty on them.
        CHECK(ws.gradient_vector().segment(record.offset, 10) == before.segment(record.offset, 10));
        CHECK(ws.gradient_vector().head(15) != before.head(15));  // layer 1's W has one
        const double norm = ws.gradient_vector().norm();
        nabla::clip_gradient_norm(ws, norm / 2);
        CHECK(Eigen::VectorXd(ws.layer<1>().dg) ==
              Eigen::VectorXd(ws.gradient_vector().segment(record.offset, 5)));
    }
}

TEST_CASE("extending: a layer type registered for another scalar type only is refused by name",
          "[extending]") {
    register_user_types();  // Affine<double>, not Affine<float>
    nabla_test::TempDir dir;
    const std::string path = dir.file("affine_float.nbl");
    using Dyn = nabla::DynamicNetwork<float, nabla::HalfSquaredError>;
    Dyn net(std::vector<nabla::AnyLayer<float>>{Dyn::Layer(3, 4, nabla::Tanh{}),
                                                Affine<float>(4, 0.5),
                                                Dyn::Layer(4, 2, nabla::Identity{})});
    net.initialize(61);
    nabla::save(net, path);
    const std::string message = message_of<nabla::FileError>(
        [&] { nabla::load_network<float, nabla::HalfSquaredError>(path); });
    CAPTURE(message);
    CHECK(contains(message, path));
    CHECK(contains(message, "layer 2"));
    CHECK(contains(message, "Affine"));
    CHECK(contains(message, "register_layer"));
    CHECK(contains(message, "Dense"));  // the names it knows
    // Registered for double, the float32 file loads into a double network.
    const auto as_double = nabla::load_network<double, nabla::HalfSquaredError>(path);
    CHECK(as_double.layer_as<Affine<double>>(1).start() == 0.5);
    CHECK(nabla::copy_parameters(as_double) == nabla::copy_parameters(net).cast<double>());
}

TEST_CASE("extending: the registries refuse a second type under a taken name", "[extending]") {
    register_user_types();
    // The same type again is fine.
    CHECK(nabla::register_activation<Softsign>());
    CHECK(nabla::register_activation<Softsign>());
    CHECK(nabla::register_activation<nabla::ReLU>());
    CHECK(nabla::register_layer<Affine<double>>());
    CHECK(nabla::register_layer<nabla::Dropout<double>>());

    // Another type under a taken name: ConfigError naming it, and the first type stays.
    std::string message = message_of<nabla::ConfigError>([] { nabla::register_activation<user::NotReLU>(); });
    CAPTURE(message);
    CHECK(contains(message, "\"relu\""));
    CHECK(nabla::AnyActivation::parse("relu") == AnyActivation(nabla::ReLU{}));
    message = message_of<nabla::ConfigError>([] { nabla::register_layer<user::NotDense>(); });
    CHECK(contains(message, "\"Dense\""));
    nabla::LayerSpec spec;
    spec.inputs = 2;
    spec.outputs = 3;
    spec.activation = nabla::ReLU{};
    nabla::AnyLayer<double> built = nabla::LayerRegistry<double>::instance().make("Dense", spec);
    CHECK(built.get<nabla::DynamicNetwork<double, nabla::HalfSquaredError>::Layer>() != nullptr);

    // parse() of an unknown name: ConfigError listing the names known, the program's included.
    message = message_of<nabla::ConfigError>([] { AnyActivation::parse("no_such_activation"); });
    CHECK(contains(message, "\"no_such_activation\""));
    for (const char* known : {"elu", "gelu", "identity", "leaky_relu", "relu", "sigmoid", "softmax",
                              "softplus", "tanh", "softsign", "tempered_softmax"}) {
        CAPTURE(known);
        CHECK(contains(message, known));
    }
    CHECK(nabla::ActivationRegistry::instance().contains("softsign"));
    // make() builds a registered type from its attributes, and from_attributes's default.
    CHECK(nabla::ActivationRegistry::instance().make("tempered_softmax", {{"temperature", 4.0}}) ==
          AnyActivation(TemperedSoftmax{4.0}));
    CHECK(AnyActivation::parse("tempered_softmax") == AnyActivation(TemperedSoftmax{1.0}));

    // An unknown layer type likewise.
    message = message_of<nabla::ConfigError>(
        [&] { nabla::LayerRegistry<double>::instance().make("NoSuchLayer", spec); });
    CHECK(contains(message, "\"NoSuchLayer\""));
    CHECK(contains(message, "Affine"));
    CHECK(contains(message, "Dense"));
    CHECK(contains(message, "Dropout"));
}

}  // namespace test_extending
