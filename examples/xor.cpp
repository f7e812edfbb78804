// Trains a [2,3,1] sigmoid network on XOR with mini-batch gradient descent and prints the loss
// curve as text, then the four predictions.

#include <nabla/nabla.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

int main() {
    using Net = nabla::Network<nabla::BinaryCrossEntropy,  //
                               nabla::Dense<double, 2, 3, nabla::Sigmoid>,
                               nabla::Dense<double, 3, 1, nabla::Sigmoid>>;
    Net net(/*seed=*/1);

    Eigen::Matrix<double, 2, 4> x;  // one sample per column
    x << 0, 0, 1, 1,
         0, 1, 0, 1;
    Eigen::Matrix<double, 1, 4> y;
    y << 0, 1, 1, 0;

    nabla::TrainOptions options;
    options.epochs = 3000;
    options.batch_size = 2;
    options.learning_rate = 2.0;
    options.seed = 7;
    const std::vector<double> losses = nabla::train(net, x, y, options);

    std::printf("XOR, [2,3,1] sigmoid, binary cross-entropy, batch %ld, learning rate %.2f\n\n",
                long(options.batch_size), options.learning_rate);
    std::printf("epoch  loss\n");
    const double top = losses.front();
    for (std::size_t epoch = 0; epoch < losses.size(); epoch += losses.size() / 20) {
        const int bar = int(50.0 * losses[epoch] / top + 0.5);
        std::printf("%5zu  %.5f  %s\n", epoch + 1, losses[epoch], std::string(bar, '#').c_str());
    }
    std::printf("%5zu  %.5f\n\n", losses.size(), losses.back());

    const Eigen::Matrix<double, 1, Eigen::Dynamic> prediction = net.predict(x);
    int correct = 0;
    for (Eigen::Index k = 0; k < x.cols(); ++k) {
        const bool right = (prediction(k) > 0.5) == (y(k) > 0.5);
        correct += right;
        std::printf("%g xor %g = %g   predicted %.4f  %s\n", x(0, k), x(1, k), y(k), prediction(k),
                    right ? "ok" : "WRONG");
    }
    std::printf("\n%d of 4 right\n", correct);
    return correct == 4 ? 0 : 1;
}
