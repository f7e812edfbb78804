// A run that blows up, and what the divergence guard makes of it. A 1-32-32-1 tanh network fits
// y = sin(x) with plain SGD; from epoch 40 on, a schedule raises the learning rate to 50, and the
// weights explode within a few steps. Without the guard, fit() throws NumericalError and the
// network keeps the weights of the step before the failure, which are already wrecked. With the
// guard, fit() puts back the weights of the epoch with the lowest validation loss, and returns.
// Prints both outcomes; exit status 1 unless the guard restored a network as good as its best
// epoch.

#include <nabla/nabla.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>

namespace {

constexpr double pi = 3.14159265358979323846;
using Net = nabla::Network<nabla::SquaredError, nabla::Dense<double, 1, 32, nabla::Tanh>,
                           nabla::Dense<double, 32, 32, nabla::Tanh>,
                           nabla::Dense<double, 32, 1, nabla::Identity>>;
using Row = Eigen::Matrix<double, 1, Eigen::Dynamic>;

}  // namespace

int main() {
    const Row x = Row::LinSpaced(200, -pi, pi);
    const Row y = x.array().sin().matrix();
    const Row x_val = Row::LinSpaced(51, -3, 3);
    const Row y_val = x_val.array().sin().matrix();

    nabla::FitOptions options;
    options.epochs = 60;
    options.batch_size = 20;
    options.seed = 1;
    options.schedule = [](int epoch) { return epoch < 39 ? 0.05 : 50.0; };  // epoch 40: ×1000
    options.progress.mode = nabla::ProgressMode::silent;

    // Without the guard: the NumericalError ends the run, and the weights are those of the
    // step before it.
    Net unguarded(/*seed=*/3);
    nabla::Sgd sgd(0.05);
    try {
        nabla::fit(unguarded, sgd, x, y, x_val, y_val, options);
    } catch (const nabla::NumericalError& error) {
        std::printf("without the guard:\n  %s\n", error.what());
    }
    const double wrecked = nabla::copy_parameters(unguarded).cwiseAbs().maxCoeff();
    std::printf("  largest |weight| left: %.3g; validation loss: %.6g\n\n", wrecked,
                double(unguarded.loss(x_val, y_val)));

    // With the guard: it looks at every epoch, and puts the best one back.
    Net guarded(/*seed=*/3);
    nabla::Sgd guarded_sgd(0.05);
    options.divergence_guard = nabla::DivergenceGuard{1, /*rethrow=*/false};
    const nabla::History history = nabla::fit(guarded, guarded_sgd, x, y, x_val, y_val, options);
    std::printf("with the guard (every epoch, rethrow off):\n  %s\n", history.error.c_str());
    double best = INFINITY;
    for (const nabla::EpochRecord& record : history.epochs)
        best = std::min(best, *record.val_loss);
    const double restored = guarded.loss(x_val, y_val);
    std::printf("  stop reason: %s after %zu epochs; restored epoch %d\n",
                history.stop_reason == nabla::StopReason::diverged ? "diverged" : "other",
                history.size(), history.restored_epoch);
    std::printf("  validation loss of the best epoch: %.6g; of the network now: %.6g\n", best,
                restored);
    std::printf("  largest |weight|: %.3g\n",
                nabla::copy_parameters(guarded).cwiseAbs().maxCoeff());
    // The same weights as the best epoch's; the loss differs only by the rounding of the
    // batched validation pass.
    const bool ok = history.stop_reason == nabla::StopReason::diverged &&
                    history.restored_epoch > 0 && std::abs(restored - best) <= 1e-12 * best;
    return ok ? 0 : 1;
}
