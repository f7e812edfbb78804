// Fits y = sin(x) on [−π, π] with a 1-32-32-1 tanh network and the mean squared error, trained
// by fit() with Adam, then prints the loss curve and the fitted curve against sin(x) as text.
// The fit is judged on points between the training points: exit status 1 when it is off by
// more than 0.05 anywhere.

#include <nabla/nabla.hpp>

#include <cmath>
#include <cstdio>
#include <string>

int main() {
    constexpr double pi = 3.14159265358979323846;
    using Net = nabla::Network<nabla::SquaredError,  // one output: the mean squared error
                               nabla::Dense<double, 1, 32, nabla::Tanh>,
                               nabla::Dense<double, 32, 32, nabla::Tanh>,
                               nabla::Dense<double, 32, 1, nabla::Identity>>;
    Net net(/*seed=*/3);  // Glorot, the default for tanh

    // Training points on a grid; test points halfway between them.
    const Eigen::Index samples = 200;
    using Row = Eigen::Matrix<double, 1, Eigen::Dynamic>;
    const Row x = Row::LinSpaced(samples, -pi, pi);
    const Row y = x.array().sin().matrix();
    const Row x_test = (x.head(samples - 1) + x.tail(samples - 1)) / 2;
    const Row y_test = x_test.array().sin().matrix();

    nabla::Adam adam(0.01);
    nabla::FitOptions options;
    options.epochs = 600;
    options.batch_size = 20;
    options.seed = 1;
    options.schedule = nabla::CosineAnnealing(0.01, options.epochs);
    options.progress.mode = nabla::ProgressMode::silent;  // the curve is printed below
    const nabla::History history = nabla::fit(net, adam, x, y, options);

    std::printf("sin(x) on [-pi, pi], 1-32-32-1 tanh, mean squared error, Adam with cosine "
                "annealing from 0.01, batch %ld\n\n",
                long(options.batch_size));
    std::printf("epoch  loss\n");
    const double top = std::log10(history.epochs.front().loss);
    const double bottom = std::log10(history.epochs.back().loss);
    for (std::size_t e = 0; e < history.size(); e += history.size() / 12) {
        const double loss = history.epochs[e].loss;
        const int bar = 1 + int(50.0 * (std::log10(loss) - bottom) / (top - bottom) + 0.5);
        std::printf("%5zu  %.2e  %s\n", e + 1, loss, std::string(bar, '#').c_str());
    }
    std::printf("%5zu  %.2e  (bars: log scale)\n\n", history.size(), history.epochs.back().loss);

    const Row fitted = net.predict(x_test);
    std::printf("     x   sin(x)   fitted\n");
    for (Eigen::Index k = 0; k < x_test.size(); k += x_test.size() / 16)
        std::printf("%6.3f  %7.4f  %7.4f\n", x_test(k), y_test(k), fitted(k));
    const double worst = (fitted - y_test).cwiseAbs().maxCoeff();
    std::printf("\nlargest error |fitted - sin(x)| between the training points: %.4f\n", worst);
    return worst <= 0.05 ? 0 : 1;
}
