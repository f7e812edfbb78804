// Compile-time probe 1 of 4: a network and predict.
#include <nabla/nabla.hpp>

#include <iostream>

int main() {
    nabla::DynamicNetwork<float, nabla::CrossEntropy> net({784, 256, 10},
                                                          {nabla::ReLU{}, nabla::Softmax{}}, 42);
    const Eigen::MatrixXf x = Eigen::MatrixXf::Random(784, 8);
    std::cout << net.predict(x).col(0).sum() << "\n";
}
