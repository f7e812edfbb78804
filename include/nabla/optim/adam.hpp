#pragma once

#include <nabla/optim/detail/checks.hpp>
#include <nabla/optim/detail/segments.hpp>
#include <nabla/optim/detail/state.hpp>
#include <nabla/optim/detail/step_bounds.hpp>
#include <nabla/parameters.hpp>

#include <Eigen/Core>
#include <cmath>

namespace nabla {

/// The options of Adam beyond the learning rate, with torch.optim.Adam's defaults. In C++20:
/// `nabla::Adam adam(1e-3, {.weight_decay = 1e-4});` in C++17: `{0.9, 0.999, 1e-8, 1e-4}`.
struct AdamOptions {
    double beta1 = 0.9;       ///< β₁ in [0, 1): decay of the mean of the gradients.
    double beta2 = 0.999;     ///< β₂ in [0, 1): decay of the mean of their squares.
    double epsilon = 1e-8;    ///< ε > 0, added to the denominator.
    double weight_decay = 0;  ///< λ ≥ 0: L2, coupled into the gradient (g ← ∇p + λp).
};

/// The options of AdamW beyond the learning rate, with torch.optim.AdamW's defaults.
struct AdamWOptions {
    double beta1 = 0.9;          ///< β₁ in [0, 1): decay of the mean of the gradients.
    double beta2 = 0.999;        ///< β₂ in [0, 1): decay of the mean of their squares.
    double epsilon = 1e-8;       ///< ε > 0, added to the denominator.
    double weight_decay = 0.01;  ///< λ ≥ 0: decoupled decay, p ← p − ηλp before the step.
};

namespace detail {

/// Adam and AdamW, one update with two kinds of weight decay. At step t (from 1), for each
/// parameter p with gradient ∇p:
///
///     g ← ∇p + λ_L2·p                         (Adam's weight_decay; 0 for AdamW)
///     m ← β₁m + (1 − β₁)g
///     v ← β₂v + (1 − β₂)g²
///     p ← (1 − ηλ_W)·p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
///                                             (λ_W: AdamW's weight_decay; 0 for Adam)
///
/// m and v start at 0; ε is added after the bias correction of √v, as torch.optim does.
template <class Options, bool Decoupled>
class AdamBase {
public:
    /// Throws ConfigError, naming the option and its value, unless η ≥ 0, β₁ and β₂ are in
    /// [0, 1), ε > 0 and λ ≥ 0, all finite.
    AdamBase(double learning_rate, const Options& options) : m_options(options) {
        set_learning_rate(learning_rate);
        check_half_open_option(name(), "beta1", options.beta1, 0, 1);
        check_half_open_option(name(), "beta2", options.beta2, 0, 1);
        check_positive_option(name(), "epsilon", options.epsilon);
        check_non_negative_option(name(), "weight_decay", options.weight_decay);
    }

    /// One step on every W and b of `net` with the gradients in `ws` (see the class comment).
    /// Throws ShapeError when `ws` holds no gradients or gradients of other shapes.
    template <class Net, class Workspace>
    void step(Net& net, const Workspace& ws) {
        using Scalar = typename Net::Scalar;
        check_step_gradients(net, ws, name());
        check_step_learning_rate<Scalar>(name(), m_learning_rate);
        m_bounds.stepped();
        if (m_moments.fit(net, 2)) restart();
        ++m_steps;
        // β₁ᵗ and β₂ᵗ by one product each per step: two std::pow calls cost a fifth of a step
        // of a small network, and the products drift from pow by t rounding errors of double,
        // far below what a float or double parameter can see.
        m_beta1_power *= m_options.beta1;
        m_beta2_power *= m_options.beta2;
        // The per-step coefficients, in double as torch.optim computes them, then cast once.
        // Dividing √v by √(1 − β₂ᵗ) is a multiplication by its reciprocal: a divide per entry
        // costs as much as the rest of the arithmetic, and the result differs by rounding only.
        const Scalar b1 = Scalar(m_options.beta1);
        const Scalar b2 = Scalar(m_options.beta2);
        const Scalar one_minus_b1 = Scalar(1 - m_options.beta1);
        const Scalar one_minus_b2 = Scalar(1 - m_options.beta2);
        const Scalar step_size = Scalar(m_learning_rate / (1 - m_beta1_power));
        const Scalar rsqrt_correction2 = Scalar(1 / std::sqrt(1 - m_beta2_power));  // 1/√(1 − β₂ᵗ)
        const Scalar eps = Scalar(m_options.epsilon);
        const Scalar l2 = Scalar(Decoupled ? 0.0 : m_options.weight_decay);
        const Scalar shrink = Scalar(1 - m_learning_rate * m_options.weight_decay);
        const bool coupled = !Decoupled && m_options.weight_decay != 0;
        const bool decoupled = Decoupled && m_options.weight_decay != 0;

        // One pass per parameter block: m, v and p of a segment are updated back to back while
        // the segment sits in L1 (optim/detail/segments.hpp). p changes last, so the coupled g
        // is taken at the p the gradient was computed for.
        for_each_parameter(net, ws, [&](auto& p_block, const auto& grad_block,
                                        const ParameterInfo& info) {
            for_each_segment(
                [&](auto p, auto grad, auto m, auto v) {
                    if (coupled) {
                        m = b1 * m + one_minus_b1 * (grad + l2 * p);
                        v = b2 * v + one_minus_b2 * (grad + l2 * p).square();
                    } else {
                        m = b1 * m + one_minus_b1 * grad;
                        v = b2 * v + one_minus_b2 * grad.square();
                    }
                    if (decoupled)
                        p = shrink * p - step_size * m / (v.sqrt() * rsqrt_correction2 + eps);
                    else
                        p -= step_size * m / (v.sqrt() * rsqrt_correction2 + eps);
                },
                p_block, grad_block, m_moments.of(0, p_block, info), m_moments.of(1, p_block, info));
        });
    }

    /// An upper bound on |Δp| of the next step, given max|∇p| ≤ G and max|p| ≤ P; +∞ when a
    /// moment may leave the finite range of the network's scalar type (optim/step_guard.hpp).
    /// With m̂ = m/(1 − β₁ᵗ) and a denominator of at least ε: |Δp| ≤ η·M/((1 − β₁)ε), plus ηλP
    /// for the decoupled decay.
    template <class Net>
    double max_change(const Net& net, double max_gradient, double max_parameter) {
        using Scalar = typename Net::Scalar;
        (void)net;
        const double beta1 = m_options.beta1;
        const double beta2 = m_options.beta2;
        const double lambda = m_options.weight_decay;
        const double g = max_gradient + (Decoupled ? 0.0 : lambda) * max_parameter;
        const StepBounds::Bounds& now = m_bounds.current<Scalar>(m_moments);
        const double m = beta1 * now[0] + (1 - beta1) * g;
        const double v = beta2 * now[1] + (1 - beta2) * g * g;
        m_bounds.expect({m, v, 0});
        const double change = m_learning_rate * m / ((1 - beta1) * m_options.epsilon) +
                              (Decoupled ? m_learning_rate * lambda * max_parameter : 0.0);
        return unless_state_finite<Scalar>(change, {m, v, 0});
    }

    /// Writes m, v, t, β₁ᵗ and β₂ᵗ, for a checkpoint (io/checkpoint.hpp).
    void save_state(StateWriter& out) const {
        m_moments.write(out);
        out.i64(m_steps);
        out.f64(m_beta1_power);
        out.f64(m_beta2_power);
    }
    /// Reads what save_state() wrote.
    void load_state(StateReader& in) {
        m_moments.read(in);
        m_steps = in.i64();
        m_beta1_power = in.f64();
        m_beta2_power = in.f64();
        m_bounds.forget();
    }

    /// True when every entry of the state kept between steps is finite.
    bool state_finite() const { return m_moments.finite(); }

    /// η.
    double learning_rate() const { return m_learning_rate; }
    /// Sets η; throws ConfigError unless it is finite and at least 0 (0 freezes the network).
    void set_learning_rate(double learning_rate) {
        check_learning_rate(name(), learning_rate);
        m_learning_rate = learning_rate;
    }
    /// β₁, β₂, ε and λ as given.
    const Options& options() const { return m_options; }
    /// t, the steps taken since construction, reset() or a change of network shape.
    long long step_count() const { return m_steps; }
    /// Forgets m, v and t: the next step is a first step again.
    void reset() {
        m_moments.clear();
        m_bounds.reset();
        restart();
    }

private:
    static const char* name() { return Decoupled ? "AdamW" : "Adam"; }

    // Back to t = 0, as when the moments are made afresh.
    void restart() {
        m_steps = 0;
        m_beta1_power = 1;
        m_beta2_power = 1;
    }

    double m_learning_rate = 1e-3;
    Options m_options;
    OptimizerState m_moments;  // m, then v
    StepBounds m_bounds;       // of |m| and |v|, for max_change()
    long long m_steps = 0;
    double m_beta1_power = 1;  // β₁ᵗ
    double m_beta2_power = 1;  // β₂ᵗ
};

}  // namespace detail

/// Adam (Kingma & Ba) with bias correction and optional L2 weight decay coupled into the
/// gradient, as torch.optim.Adam:
///
///     g ← ∇p + λp
///     m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²          (m, v start at 0; t from 1)
///     p ← p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
///
///     nabla::Adam adam(1e-3);
///     net.backward(x, y, ws);
///     adam.step(net, ws);
///
/// With λ > 0 the decay passes through m and v and is scaled by them; AdamW decouples it. The
/// interface is Sgd's: step, learning_rate, set_learning_rate, reset (see optim/sgd.hpp), plus
/// options() and step_count().
class Adam : public detail::AdamBase<AdamOptions, false> {
public:
    /// Adam with learning rate η and `options`; throws ConfigError, naming the option and its
    /// value, unless η ≥ 0, β₁, β₂ ∈ [0, 1), ε > 0 and λ ≥ 0.
    explicit Adam(double learning_rate = 1e-3, const AdamOptions& options = {})
        : AdamBase(learning_rate, options) {}
};

/// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, as torch.optim.AdamW. Each
/// step first shrinks the parameter, then takes the Adam step on the plain gradient:
///
///     p ← p − ηλp
///     m ← β₁m + (1 − β₁)∇p,   v ← β₂v + (1 − β₂)∇p²
///     p ← p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
///
///     nabla::AdamW adamw(1e-3, {0.9, 0.999, 1e-8, 0.01});
///     net.backward(x, y, ws);
///     adamw.step(net, ws);
///
/// Unlike Adam's L2, the decay is not divided by √v: every weight shrinks by the same factor.
/// With λ = 0 it is Adam, bit for bit.
class AdamW : public detail::AdamBase<AdamWOptions, true> {
public:
    /// AdamW with learning rate η and `options` (λ = 0.01 by default); throws ConfigError,
    /// naming the option and its value, unless η ≥ 0, β₁, β₂ ∈ [0, 1), ε > 0 and λ ≥ 0.
    explicit AdamW(double learning_rate = 1e-3, const AdamWOptions& options = {})
        : AdamBase(learning_rate, options) {}
};

}  // namespace nabla
