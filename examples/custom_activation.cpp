// An activation of your own, in a file of your own: Swish, σ(z) = z·sigmoid(z) (Ramachandran et
// al.). It is an element-wise policy type: forward() and derivative(), a name() for model files
// and run-time choices, and `rectifier` so that DefaultInit draws He weights for it. Nothing in
// nabla is edited. Registered once, it is chosen by name, trained in a DynamicNetwork, saved,
// and loaded back into a network that predicts bit for bit the same. Exit status 1 otherwise.

#include <nabla/nabla.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>

/// σ(z) = z / (1 + e^−z); σ'(z) = s + z·s(1 − s) with s = sigmoid(z), which is
/// a + (1 − a)/(1 + e^−z) in terms of the stored a = z·s.
struct Swish : nabla::ElementWise<Swish> {
    static constexpr const char* name() { return "swish"; }
    static constexpr bool rectifier = true;

    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        using Scalar = typename Z::Scalar;
        a.derived().array() = z.array() / (Scalar(1) + (-z.array()).exp());
    }

    template <class Z, class A>
    auto derivative(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>& a) const {
        using Scalar = typename Z::Scalar;
        return a.array() + (Scalar(1) - a.array()) / (Scalar(1) + (-z.array()).exp());
    }
};

// Lets AnyActivation::parse("swish") and load_network() find it.
static const bool swish_registered = nabla::register_activation<Swish>();

int main() {
    // y = |x| on [−2, 2]: a kink that smooth units have to approximate.
    using Row = Eigen::Matrix<double, 1, Eigen::Dynamic>;
    const Row x = Row::LinSpaced(64, -2, 2);
    const Row y = x.array().abs().matrix();

    nabla::DynamicNetwork<double, nabla::HalfSquaredError> net(
        {1, 16, 1}, {nabla::AnyActivation::parse("swish"), nabla::Identity{}}, /*seed=*/5);
    nabla::Adam adam(0.02);
    nabla::FitOptions options;
    options.epochs = 400;
    options.batch_size = 16;
    options.progress.mode = nabla::ProgressMode::silent;
    const nabla::History history = nabla::fit(net, adam, x, y, options);
    std::printf("swish %s registered; loss %.2e after %zu epochs\n",
                swish_registered ? "is" : "is not", history.epochs.back().loss, history.size());

    const std::string path = (std::filesystem::temp_directory_path() / "swish.nbl").string();
    nabla::save(net, path);  // format version 2: the file names the activation "swish"
    const auto loaded = nabla::load_network<double, nabla::HalfSquaredError>(path);
    std::filesystem::remove(path);
    const bool same = loaded.predict(x) == net.predict(x);
    std::printf("loaded layer 1 uses %s; predictions %s\n",
                std::string(loaded.layer(0).activation().name()).c_str(),
                same ? "identical" : "DIFFER");
    return same && history.epochs.back().loss < 0.01 ? 0 : 1;
}
