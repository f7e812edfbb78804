#pragma once

// The three workloads of nabla's performance table, shared by the Google Benchmark suite and the
// side-by-side runner so that both time the same networks on the same data:
//
//   W1  784-256-128-10, ReLU hidden, softmax + cross-entropy, plain SGD (rate 0.05), batch 64,
//       one epoch of the 60000 Fashion-MNIST training images: samples per second.
//   W2  1024-1024-1024-1024, ReLU hidden, identity output, squared error, SGD, batch 256, random
//       data: samples per second.
//   W3  the [2,3,2] sigmoid network of the notes, squared error, one sample per step:
//       nanoseconds per forward + backward + update.

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <cstdint>
#include <vector>

namespace nabla::bench {

/// W1: sizes at run time, activations as types.
using W1Net = Network<CrossEntropy,                                    //
                      Dense<float, Eigen::Dynamic, Eigen::Dynamic, ReLU>,
                      Dense<float, Eigen::Dynamic, Eigen::Dynamic, ReLU>,
                      Dense<float, Eigen::Dynamic, Eigen::Dynamic, Softmax>>;
/// W1's layer sizes.
inline const std::vector<Eigen::Index> w1_sizes = {784, 256, 128, 10};
inline constexpr Eigen::Index w1_batch = 64;          ///< W1's samples per step.
inline constexpr float w1_learning_rate = 0.05f;      ///< W1's SGD rate.

/// W2: three 1024 × 1024 layers.
using W2Net = Network<SquaredError,                                    //
                      Dense<float, Eigen::Dynamic, Eigen::Dynamic, ReLU>,
                      Dense<float, Eigen::Dynamic, Eigen::Dynamic, ReLU>,
                      Dense<float, Eigen::Dynamic, Eigen::Dynamic, Identity>>;
/// W2's layer sizes.
inline const std::vector<Eigen::Index> w2_sizes = {1024, 1024, 1024, 1024};
inline constexpr Eigen::Index w2_batch = 256;         ///< W2's samples per step.
inline constexpr float w2_learning_rate = 1e-4f;      ///< Small: random targets, no divergence.

/// W1 in double: the same network, data and step, every product twice as wide per FMA.
using W1DoubleNet = Network<CrossEntropy,                              //
                            Dense<double, Eigen::Dynamic, Eigen::Dynamic, ReLU>,
                            Dense<double, Eigen::Dynamic, Eigen::Dynamic, ReLU>,
                            Dense<double, Eigen::Dynamic, Eigen::Dynamic, Softmax>>;
/// W2 in double.
using W2DoubleNet = Network<SquaredError,                              //
                            Dense<double, Eigen::Dynamic, Eigen::Dynamic, ReLU>,
                            Dense<double, Eigen::Dynamic, Eigen::Dynamic, ReLU>,
                            Dense<double, Eigen::Dynamic, Eigen::Dynamic, Identity>>;

/// W3 with every size fixed at compile time: the whole step lives in registers and the stack.
using W3FixedNet = Network<SquaredError,                               //
                           Dense<float, 2, 3, Sigmoid>, Dense<float, 3, 2, Sigmoid>>;
/// W3 with sizes chosen at run time.
using W3DynamicNet = Network<SquaredError,                             //
                             Dense<float, Eigen::Dynamic, Eigen::Dynamic, Sigmoid>,
                             Dense<float, Eigen::Dynamic, Eigen::Dynamic, Sigmoid>>;
/// W3's layer sizes.
inline const std::vector<Eigen::Index> w3_sizes = {2, 3, 2};
inline constexpr float w3_learning_rate = 0.5f;       ///< W3's SGD rate.

/// Multiply-adds of one training step of a dense network with layer sizes `sizes` on `batch`
/// samples, counted as 2 FLOPs each: z = W a (every layer), ∂C/∂W = δ aᵀ (every layer) and
/// (Wˡ)ᵀ δˡ (every layer but the first, whose input needs no gradient).
inline double train_step_flops(const std::vector<Eigen::Index>& sizes, Eigen::Index batch) {
    double flops = 0;
    for (std::size_t l = 1; l < sizes.size(); ++l) {
        const double gemm = 2.0 * double(sizes[l - 1]) * double(sizes[l]) * double(batch);
        flops += l == 1 ? 2 * gemm : 3 * gemm;
    }
    return flops;
}

/// Multiply-adds of one forward pass (z = W a in every layer), as 2 FLOPs each.
inline double forward_flops(const std::vector<Eigen::Index>& sizes, Eigen::Index batch) {
    double flops = 0;
    for (std::size_t l = 1; l < sizes.size(); ++l)
        flops += 2.0 * double(sizes[l - 1]) * double(sizes[l]) * double(batch);
    return flops;
}

/// `samples` columns of uniform random inputs in [0, 1) and one-hot targets of `classes`
/// classes, from `seed`: the stand-in for Fashion-MNIST when it is not installed.
struct RandomClassification {
    Eigen::MatrixXf x;  ///< inputs × samples.
    Eigen::MatrixXf y;  ///< classes × samples, one-hot.
};

/// Random classification data (see RandomClassification).
inline RandomClassification random_classification(Eigen::Index inputs, Eigen::Index classes,
                                                  Eigen::Index samples, std::uint64_t seed) {
    Rng rng(seed);
    RandomClassification data;
    data.x.resize(inputs, samples);
    for (Eigen::Index k = 0; k < data.x.size(); ++k) data.x(k) = float(rng.uniform());
    data.y = Eigen::MatrixXf::Zero(classes, samples);
    for (Eigen::Index k = 0; k < samples; ++k)
        data.y(Eigen::Index(rng.next() % std::uint64_t(classes)), k) = 1;
    return data;
}

/// Uniform random values in [-1, 1) of the given shape, from `seed`.
inline Eigen::MatrixXf random_matrix(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
    Rng rng(seed);
    Eigen::MatrixXf m(rows, cols);
    for (Eigen::Index k = 0; k < m.size(); ++k) m(k) = float(2 * rng.uniform() - 1);
    return m;
}

}  // namespace nabla::bench
