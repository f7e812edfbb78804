// A layer of your own, in a file of your own: Scale, a learned gain per unit, a = s ⊙ x. It
// models nabla's layer concept (layer.hpp): a state with its buffers, forward, backward (the
// gradient of its one parameter block s), propagate (∂C/∂x for the layer below), the parameter
// block itself, and from_spec() so that a model file can build it again. Nothing in nabla is
// edited. It stacks in a Network (its type known at compile time) and, registered, in a
// DynamicNetwork that is saved and loaded back; its gradient is checked against finite
// differences. Exit status 1 when any of that fails.

#include <nabla/nabla.hpp>

#include <cstdio>
#include <filesystem>

/// a = s ⊙ x, each unit scaled by its own learned gain (s starts at 1).
template <class Scalar_>
class Scale {
public:
    using Scalar = Scalar_;
    static constexpr int InputsAtCompileTime = Eigen::Dynamic;
    static constexpr int OutputsAtCompileTime = Eigen::Dynamic;
    static constexpr int ParametersAtCompileTime = Eigen::Dynamic;
    using Gains = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

    /// a and ∂C/∂a come from LayerBuffers; ds views ∂C/∂s in the workspace's gradient array.
    template <int Batch>
    struct State : nabla::LayerBuffers<Scalar, Eigen::Dynamic, Batch> {
        nabla::GradientView<Gains> ds;
        void bind_gradients(Scalar* gradients) { ds.bind(gradients); }
    };

    static constexpr const char* type_name() { return "Scale"; }
    explicit Scale(Eigen::Index units) : m_gains(Gains::Ones(units)) {}
    static Scale from_spec(const nabla::LayerSpec& spec) { return Scale(spec.outputs); }

    Eigen::Index inputs() const { return m_gains.size(); }
    Eigen::Index outputs() const { return m_gains.size(); }
    Eigen::Index parameter_count() const { return m_gains.size(); }
    template <class F>
    void for_each_parameter(F&& f) { f(m_gains, "s"); }
    template <class F>
    void for_each_parameter(F&& f) const { f(m_gains, "s"); }

    template <int Batch>
    void prepare(State<Batch>& state, Eigen::Index batch, Scalar* gradients) const {
        state.resize_buffers(outputs(), batch);
        state.ds.bind(gradients, outputs(), 1);
    }

    template <class Input, int Batch>
    void forward(const Eigen::MatrixBase<Input>& x, State<Batch>& state, const nabla::Pass&) const {
        state.a = m_gains.asDiagonal() * x;  // a = s ⊙ x
    }

    template <class Input, int Batch>
    void backward(const Eigen::MatrixBase<Input>& x, State<Batch>& state,
                  const nabla::BackwardPass& how) const {
        if (!how.store_gradients) return;
        // ∂C/∂s = mean over the batch of ∂C/∂a ⊙ x
        state.ds = state.da.cwiseProduct(x).rowwise().mean();
    }

    template <int Batch, class Below>
    void propagate(const State<Batch>& state, Below&& da_below) const {
        da_below = m_gains.asDiagonal() * state.da;  // ∂C/∂x = s ⊙ ∂C/∂a
    }

private:
    Gains m_gains;
};

static const bool scale_registered = nabla::register_layer<Scale<double>>();

int main() {
    const Eigen::MatrixXd x = Eigen::MatrixXd::Random(3, 40);
    const Eigen::MatrixXd y = (x.array().square().colwise().sum() / 3).matrix();

    // Compile-time stack: Dense, then Scale, then Dense.
    using Hidden = nabla::Dense<double, Eigen::Dynamic, Eigen::Dynamic, nabla::Tanh>;
    using Output = nabla::Dense<double, Eigen::Dynamic, Eigen::Dynamic, nabla::Identity>;
    nabla::Network<nabla::HalfSquaredError, Hidden, Scale<double>, Output> fixed(
        std::make_tuple(Hidden(3, 8), Scale<double>(8), Output(8, 1)));
    fixed.initialize(2);
    const double worst = nabla::gradient_check(fixed, x, y).worst();
    std::printf("Network with Scale: gradient check %.1e\n", worst);

    // Run-time stack, trained, saved and loaded back.
    using Dense = nabla::DynamicNetwork<double, nabla::HalfSquaredError>::Layer;
    nabla::DynamicNetwork<double, nabla::HalfSquaredError> net(std::vector<nabla::AnyLayer<double>>{
        Dense(3, 8, nabla::Tanh{}), Scale<double>(8), Dense(8, 1, nabla::Identity{})});
    net.initialize(2);
    nabla::Adam adam(0.02);
    nabla::FitOptions options;
    options.epochs = 200;
    options.batch_size = 8;
    options.progress.mode = nabla::ProgressMode::silent;
    const nabla::History history = nabla::fit(net, adam, x, y, options);
    const std::string path = (std::filesystem::temp_directory_path() / "scale.nbl").string();
    nabla::save(net, path);
    const auto loaded = nabla::load_network<double, nabla::HalfSquaredError>(path);
    std::filesystem::remove(path);
    const bool same = loaded.predict(x) == net.predict(x);
    std::printf("DynamicNetwork with Scale (%s): loss %.2e, loaded back %s\n",
                scale_registered ? "registered" : "not registered", history.epochs.back().loss,
                same ? "identical" : "DIFFERENT");
    return worst < 1e-7 && same && history.epochs.back().loss < history.epochs.front().loss ? 0
                                                                                             : 1;
}
