#pragma once

#include <nabla/activation.hpp>
#include <nabla/random.hpp>

#include <Eigen/Core>
#include <cmath>

namespace nabla {

/// Fills a matrix with U(−limit, limit) values drawn column by column from `rng`.
template <class Derived>
void uniform_fill(Eigen::MatrixBase<Derived>& weights, double limit, Rng& rng) {
    for (Eigen::Index k = 0; k < weights.cols(); ++k)
        for (Eigen::Index j = 0; j < weights.rows(); ++j)
            weights(j, k) = typename Derived::Scalar(rng.uniform(-limit, limit));
}

/// Fills W (outputs × inputs) with Glorot/Xavier uniform values, U(−r, r) with
/// r = √(6 / (inputs + outputs)): keeps the variance of sigmoid and tanh layers steady.
template <class Derived>
void glorot_uniform(Eigen::MatrixBase<Derived>& weights, Rng& rng) {
    uniform_fill(weights, std::sqrt(6.0 / double(weights.rows() + weights.cols())), rng);
}

/// Fills W (outputs × inputs) with He uniform values, U(−r, r) with r = √(6 / inputs): keeps the
/// variance of ReLU layers steady.
template <class Derived>
void he_uniform(Eigen::MatrixBase<Derived>& weights, Rng& rng) {
    uniform_fill(weights, std::sqrt(6.0 / double(weights.cols())), rng);
}

/// The initialisation that fits an activation: He for ReLU and leaky ReLU, Glorot otherwise.
template <class Derived>
void default_initialize(Eigen::MatrixBase<Derived>& weights, ActivationKind kind, Rng& rng) {
    if (kind == ActivationKind::relu || kind == ActivationKind::leaky_relu)
        he_uniform(weights, rng);
    else
        glorot_uniform(weights, rng);
}

}  // namespace nabla
