// A loss of your own, in a file of your own: the Huber loss, quadratic near the target and
// linear far from it, so that a few wild targets do not dominate the fit. A loss type gives its
// name() (model files keep it), the batch cost and ∂C/∂a per sample; it may declare traits
// (which output activation it needs, how fit() scores accuracy), here none. Nothing in nabla is
// edited. Trained on a line with outliers, it fits the line where the squared error is pulled
// off it. Exit status 1 when it does not.

#include <nabla/nabla.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>

/// C = mean over the batch of Σⱼ h(aⱼ − yⱼ), with h(r) = r²/2 for |r| ≤ 1 and |r| − 1/2 beyond;
/// ∂C/∂a = clamp(a − y, −1, 1) per sample.
struct Huber {
    static constexpr const char* name() { return "Huber"; }

    template <class A, class Y>
    static typename A::Scalar cost(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<Y>& y) {
        using Scalar = typename A::Scalar;
        const Scalar total = (a - y).array().unaryExpr([](Scalar r) {
            r = std::abs(r);
            return r <= Scalar(1) ? Scalar(0.5) * r * r : r - Scalar(0.5);
        }).sum();
        return total / Scalar(a.cols());
    }

    template <class A, class Y, class G>
    static void gradient(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<Y>& y,
                         Eigen::MatrixBase<G>& da) {
        using Scalar = typename A::Scalar;
        da.derived() = (a - y).array().max(Scalar(-1)).min(Scalar(1)).matrix();
    }
};

int main() {
    // y = 2x − 1 on [0, 1], with every tenth target thrown far off.
    using Row = Eigen::Matrix<float, 1, Eigen::Dynamic>;
    const Row x = Row::LinSpaced(100, 0, 1);
    Row y = (2 * x.array() - 1).matrix();
    for (Eigen::Index k = 0; k < y.size(); k += 10) y(k) += 30;

    // One linear unit: its W and b are the fitted slope and intercept.
    using Linear = nabla::Dense<float, 1, 1, nabla::Identity>;
    nabla::Network<Huber, Linear> huber(/*seed=*/1);
    nabla::Network<nabla::HalfSquaredError, Linear> squared(/*seed=*/1);
    nabla::FitOptions options;
    options.epochs = 300;
    options.batch_size = 10;
    options.progress.mode = nabla::ProgressMode::silent;
    nabla::Adam adam_huber(0.05), adam_squared(0.05);
    nabla::fit(huber, adam_huber, x, y, options);
    nabla::fit(squared, adam_squared, x, y, options);

    const float slope = huber.layer<0>().weights()(0, 0);
    const float intercept = huber.layer<0>().bias()(0);
    std::printf("Huber:         y = %.3f x %+.3f\n", slope, intercept);
    std::printf("squared error: y = %.3f x %+.3f (pulled up by the outliers)\n",
                squared.layer<0>().weights()(0, 0), squared.layer<0>().bias()(0));

    // The loss's name goes into the model file; loading checks it.
    const std::string path = (std::filesystem::temp_directory_path() / "huber.nbl").string();
    nabla::save(huber, path);
    const nabla::ModelInfo info = nabla::read_model_info(path);
    const auto loaded = nabla::load_network<float, Huber>(path);
    std::filesystem::remove(path);
    const bool same = loaded.predict(x) == huber.predict(x);
    std::printf("saved with the loss %s, loaded back: %s\n", info.loss.c_str(),
                same ? "identical" : "DIFFERENT");
    return same && std::abs(slope - 2) < 0.15f && std::abs(intercept + 1) < 0.15f ? 0 : 1;
}
