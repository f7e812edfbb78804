// Compile-time probe 3 of 4: a network trained by fit, then scored.
#include <nabla/nabla.hpp>

#include <iostream>

int main() {
    const Eigen::MatrixXf x = Eigen::MatrixXf::Random(784, 256);
    const std::vector<int> labels(256, 3);
    const Eigen::MatrixXf y = nabla::one_hot<float>(labels, 10);
    nabla::DynamicNetwork<float, nabla::CrossEntropy> net({784, 256, 10},
                                                          {nabla::ReLU{}, nabla::Softmax{}}, 42);
    nabla::Adam adam(1e-3);
    nabla::FitOptions options;
    options.epochs = 1;
    nabla::fit(net, adam, x, y, options);
    std::cout << nabla::accuracy(net.predict(x), labels) << "\n";
}
