// Must not compile: saving a network whose activation type has no name() (the model file names
// every activation). tests/CMakeLists.txt compiles it and expects the static_assert's message.

#include <nabla/io/model_file.hpp>
#include <nabla/layers/dense.hpp>
#include <nabla/network.hpp>

#include <Eigen/Core>

/// tanh without a name: fine for training, impossible to save.
struct Nameless : nabla::ElementWise<Nameless> {
    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        a.derived().array() = z.array().tanh();
    }
    template <class Z, class A>
    auto derivative(const Eigen::MatrixBase<Z>&, const Eigen::MatrixBase<A>& a) const {
        return 1 - a.array().square();
    }
};

int main() {
    nabla::Network<nabla::SquaredError, nabla::Dense<double, 2, 3, Nameless>,
                   nabla::Dense<double, 3, 1, nabla::Identity>>
        net(std::make_tuple(nabla::Dense<double, 2, 3, Nameless>(2, 3),
                            nabla::Dense<double, 3, 1, nabla::Identity>(3, 1)));
    nabla::save(net, "never.nbl");
}
