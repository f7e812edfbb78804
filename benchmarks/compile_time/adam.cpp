// Compile-time probe 2 of 4: probe 1, then backward and an Adam step.
#include <nabla/nabla.hpp>

#include <iostream>

int main() {
    using Net = nabla::DynamicNetwork<float, nabla::CrossEntropy>;
    Net net({784, 256, 10}, {nabla::ReLU{}, nabla::Softmax{}}, 42);
    const Eigen::MatrixXf x = Eigen::MatrixXf::Random(784, 8);
    const Eigen::MatrixXf y = nabla::one_hot<float>(std::vector<int>(8, 3), 10);
    Net::Workspace<> ws;
    nabla::Adam adam(1e-3);
    const float cost = net.backward(x, y, ws);
    adam.step(net, ws);
    std::cout << cost << " " << net.predict(x).col(0).sum() << "\n";
}
