// The two worked examples of the notes (section "5. Numerical Example"), computed by nabla: one
// forward and one backward pass of each network, with every intermediate the notes print, to 6
// decimals. The notes round to 4 decimals and contain misprints (docs/errata.md); the numbers
// below are the exact ones.

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <cstdio>

namespace {

// One table line per row of m: a label, up to three values, the formula and where the notes
// derive it, the last three on the first line only. printf runs in the classic "C" locale (the
// program never calls setlocale), so the decimal point is always '.'.
template <class Derived>
void print(const char* label, const Eigen::MatrixBase<Derived>& m, const char* formula,
           const char* where) {
    for (Eigen::Index j = 0; j < m.rows(); ++j) {
        std::printf("  %-14s", j == 0 ? label : "");
        for (Eigen::Index k = 0; k < 3; ++k) {
            if (k < m.cols())
                std::printf(" %10.6f", m(j, k));
            else if (j == 0)
                std::printf(" %10s", "");
        }
        if (j == 0 && *where != '\0')
            std::printf("   %-26s %s", formula, where);
        else if (j == 0)
            std::printf("   %s", formula);
        std::printf("\n");
    }
}

// backward() on one sample, then what the workspace holds. Vectors print as rows.
template <class Net, class X, class Y>
void run(const char* title, const Net& net, const X& x, const Y& y) {
    typename Net::template Workspace<1> ws;
    const double cost = net.backward(x, y, ws);  // forward, then equations (1)-(6)
    const auto& l1 = ws.template layer<0>();     // z1, a1, delta1, dC/dW1, dC/db1 of the notes
    const auto& l2 = ws.template layer<1>();     // z2, a2, delta2, dC/dW2, dC/db2
    const nabla::Sigmoid sigmoid;                // sigma'(z) = a (1 - a), from the stored a

    std::printf("%s\n\nForward pass\n", title);
    print("x", x.transpose(), "input a0", "");
    print("y", y.transpose(), "target", "");
    print("z1", l1.z.transpose(), "W1 x + b1", "sec. 1.2, 2.1");
    print("a1", l1.a.transpose(), "sigma(z1)", "");
    print("z2", l2.z.transpose(), "W2 a1 + b2", "");
    print("a2", l2.a.transpose(), "sigma(z2)", "");
    print("C", Eigen::Matrix<double, 1, 1>(cost), "1/2 |a2 - y|^2", "sec. 2.5");

    std::printf("\nBackward pass\n");
    print("dC/da2", l2.da.transpose(), "a2 - y", "sec. 2.5.1");
    print("sigma'(z2)", sigmoid.derivative(l2.z, l2.a).matrix().transpose(), "a2 (1 - a2)", "");
    print("delta2", l2.delta.transpose(), "dC/da2 * sigma'(z2)", "eq. (1)");
    print("(W2)^T delta2", l1.da.transpose(), "dC/da1", "sec. 2.4.2");
    print("sigma'(z1)", sigmoid.derivative(l1.z, l1.a).matrix().transpose(), "a1 (1 - a1)", "");
    print("delta1", l1.delta.transpose(), "(W2)^T delta2 * sigma'(z1)", "eq. (4)");
    print("dC/dW2", l2.dW, "delta2 a1^T", "eq. (3)");
    print("dC/db2", l2.db.transpose(), "delta2", "eq. (2)");
    print("dC/dW1", l1.dW, "delta1 x^T", "eq. (6)");
    print("dC/db1", l1.db.transpose(), "delta1", "eq. (5)");
    std::printf("\n");
}

}  // namespace

int main() {
    using nabla::Dense;
    using nabla::Sigmoid;

    {
        nabla::Network<nabla::HalfSquaredError, Dense<double, 2, 2, Sigmoid>,
                       Dense<double, 2, 1, Sigmoid>>
            net;
        net.layer<0>().set_weights((Eigen::Matrix2d() << 0.1, 0.3, 0.2, 0.4).finished());
        net.layer<0>().set_bias(Eigen::Vector2d(0.1, -0.1));
        net.layer<1>().set_weights(Eigen::RowVector2d(0.7, -1.2));
        net.layer<1>().set_bias(Eigen::Matrix<double, 1, 1>(0.05));
        run("Example 1: network [2,2,1], sigmoid, loss C = 1/2 (a - y)^2 (HalfSquaredError)", net,
            Eigen::Vector2d(1.0, 0.5), Eigen::Matrix<double, 1, 1>(0.8));
    }
    {
        nabla::Network<nabla::HalfSquaredError, Dense<double, 2, 3, Sigmoid>,
                       Dense<double, 3, 2, Sigmoid>>
            net;
        Eigen::Matrix<double, 3, 2> w1;
        w1 << 0.1, 0.4,  //
            0.2, 0.3,    //
            0.5, -0.1;
        Eigen::Matrix<double, 2, 3> w2;
        w2 << 0.3, -0.7, 0.2,  //
            0.6, 0.1, -0.5;
        net.layer<0>().set_weights(w1);
        net.layer<0>().set_bias(Eigen::Vector3d(0.1, -0.1, 0.2));
        net.layer<1>().set_weights(w2);
        net.layer<1>().set_bias(Eigen::Vector2d(0.05, -0.05));
        run("Example 2: network [2,3,2], sigmoid, loss C = 1/2 ||a - y||^2 (HalfSquaredError)", net,
            Eigen::Vector2d(0.9, 0.1), Eigen::Vector2d(1.0, 0.0));
    }
    return 0;
}
