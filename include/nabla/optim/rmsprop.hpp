#pragma once

#include <nabla/optim/detail/checks.hpp>
#include <nabla/optim/detail/segments.hpp>
#include <nabla/optim/detail/state.hpp>
#include <nabla/optim/detail/step_bounds.hpp>
#include <nabla/parameters.hpp>

#include <Eigen/Core>
#include <cstddef>

namespace nabla {

/// The options of RmsProp beyond the learning rate, with torch.optim.RMSprop's defaults. In
/// C++20: `nabla::RmsProp rms(1e-3, {.momentum = 0.9, .centered = true});`.
struct RmsPropOptions {
    double alpha = 0.99;      ///< α in [0, 1): decay of the mean of the squared gradients.
    double epsilon = 1e-8;    ///< ε > 0, added to the denominator.
    double momentum = 0;      ///< μ in [0, 1); 0 keeps no velocity.
    bool centered = false;    ///< Divide by an estimate of the variance instead of the 2nd moment.
    double weight_decay = 0;  ///< λ ≥ 0: L2, coupled into the gradient (g ← ∇p + λp).
};

/// RMSProp (Hinton), as torch.optim.RMSprop: each parameter's step is divided by a running root
/// mean square of its gradients. For each parameter p with gradient ∇p:
///
///     g ← ∇p + λp
///     s ← αs + (1 − α)g²                          (s starts at 0; no bias correction)
///     centered:  ḡ ← αḡ + (1 − α)g;  d = √max(s − ḡ², 0) + ε
///     otherwise: d = √s + ε
///     μ = 0:     p ← p − η g/d
///     momentum:  u ← μu + g/d;  p ← p − ηu
///
///     nabla::RmsProp rmsprop(1e-3);
///     net.backward(x, y, ws);
///     rmsprop.step(net, ws);
///
/// (The max with 0 only guards against rounding: s ≥ ḡ² holds exactly.) The interface is
/// Sgd's: step, learning_rate, set_learning_rate, reset (see optim/sgd.hpp), plus options().
class RmsProp {
public:
    /// RMSProp with learning rate η and `options`; throws ConfigError, naming the option and
    /// its value, unless η ≥ 0, α ∈ [0, 1), ε > 0, μ ∈ [0, 1) and λ ≥ 0, all finite.
    explicit RmsProp(double learning_rate = 0.01, const RmsPropOptions& options = {})
        : m_options(options) {
        set_learning_rate(learning_rate);
        detail::check_half_open_option("RmsProp", "alpha", options.alpha, 0, 1);
        detail::check_positive_option("RmsProp", "epsilon", options.epsilon);
        detail::check_half_open_option("RmsProp", "momentum", options.momentum, 0, 1);
        detail::check_non_negative_option("RmsProp", "weight_decay", options.weight_decay);
    }

    /// One step on every W and b of `net` with the gradients in `ws` (see the class comment).
    /// Throws ShapeError when `ws` holds no gradients or gradients of other shapes.
    template <class Net, class Workspace>
    void step(Net& net, const Workspace& ws) {
        using Scalar = typename Net::Scalar;
        detail::check_step_gradients(net, ws, "RmsProp");
        detail::check_step_learning_rate<Scalar>("RmsProp::step", m_learning_rate);
        m_bounds.stepped();
        // State arrays: s, then u with momentum, then ḡ when centered.
        const int buffers = 1 + (m_options.momentum != 0 ? 1 : 0) + (m_options.centered ? 1 : 0);
        m_buffers.fit(net, buffers);
        Coefficients<Scalar> c;
        c.eta = Scalar(m_learning_rate);
        c.alpha = Scalar(m_options.alpha);
        c.one_minus_alpha = Scalar(1 - m_options.alpha);
        c.eps = Scalar(m_options.epsilon);
        c.mu = Scalar(m_options.momentum);
        const Scalar lambda = Scalar(m_options.weight_decay);

        // One pass per parameter block: s, ḡ, u and p of a segment are updated back to back
        // while the segment sits in L1 (optim/detail/segments.hpp). When the options keep no u
        // or no ḡ, s is passed in their place and they are not touched.
        const bool momentum = m_options.momentum != 0;
        for_each_parameter(net, ws, [&](auto& p_block, const auto& grad_block,
                                        const ParameterInfo& info) {
            auto s = m_buffers.of(0, p_block, info);
            auto u = m_buffers.of(momentum ? 1 : 0, p_block, info);
            auto g_mean = m_buffers.of(m_options.centered ? (momentum ? 2 : 1) : 0, p_block, info);
            detail::for_each_segment(
                [&](auto p, auto grad, auto s_segment, auto u_segment, auto g_mean_segment) {
                    if (m_options.weight_decay == 0)
                        update(p, grad, s_segment, u_segment, g_mean_segment, c);
                    else  // g = ∇p + λp at the p the gradient was taken at: p changes last
                        update(p, grad + lambda * p, s_segment, u_segment, g_mean_segment, c);
                },
                p_block, grad_block, s, u, g_mean);
        });
    }

    /// An upper bound on |Δp| of the next step, given max|∇p| ≤ G and max|p| ≤ P; +∞ when a
    /// state array may leave the finite range of the network's scalar type
    /// (optim/step_guard.hpp). Each denominator is at least ε, so |g/(√s + ε)| ≤ G/ε.
    template <class Net>
    double max_change(const Net& net, double max_gradient, double max_parameter) {
        using Scalar = typename Net::Scalar;
        (void)net;
        const double alpha = m_options.alpha;
        const double mu = m_options.momentum;
        const double g = max_gradient + m_options.weight_decay * max_parameter;
        // The arrays as step() numbers them: s, then u with momentum, then ḡ when centered.
        const std::size_t u_at = 1;
        const std::size_t mean_at = mu != 0 ? 2 : 1;
        const detail::StepBounds::Bounds& now = m_bounds.current<Scalar>(m_buffers);
        detail::StepBounds::Bounds next{};
        next[0] = alpha * now[0] + (1 - alpha) * g * g;
        if (m_options.centered) next[mean_at] = alpha * now[mean_at] + (1 - alpha) * g;
        const double scaled = g / m_options.epsilon;
        if (mu != 0) next[u_at] = mu * now[u_at] + scaled;
        m_bounds.expect(next);
        return detail::unless_state_finite<Scalar>(
            m_learning_rate * (mu != 0 ? next[u_at] : scaled), next);
    }

    /// Writes s, u and ḡ, for a checkpoint (io/checkpoint.hpp).
    void save_state(detail::StateWriter& out) const { m_buffers.write(out); }
    /// Reads what save_state() wrote.
    void load_state(detail::StateReader& in) {
        m_buffers.read(in);
        m_bounds.forget();
    }

    /// True when every entry of the state kept between steps is finite.
    bool state_finite() const { return m_buffers.finite(); }

    /// η.
    double learning_rate() const { return m_learning_rate; }
    /// Sets η; throws ConfigError unless it is finite and at least 0 (0 freezes the network).
    void set_learning_rate(double learning_rate) {
        detail::check_learning_rate("RmsProp", learning_rate);
        m_learning_rate = learning_rate;
    }
    /// α, ε, μ, centered and λ as given.
    const RmsPropOptions& options() const { return m_options; }
    /// Forgets s, u and ḡ: the next step starts from zeros, as the first one did.
    void reset() {
        m_buffers.clear();
        m_bounds.reset();
    }

private:
    template <class Scalar>
    struct Coefficients {
        Scalar eta, alpha, one_minus_alpha, eps, mu;
    };

    // One segment of a parameter block; `g` is an array expression of the (decayed) gradient,
    // evaluated inside each assignment so that nothing is stored for it.
    template <class P, class G, class S, class U, class GMean, class Scalar>
    void update(P& p, const G& g, S& s, U& u, GMean& g_mean, const Coefficients<Scalar>& c) const {
        s = c.alpha * s + c.one_minus_alpha * g.square();
        if (m_options.centered) {
            g_mean = c.alpha * g_mean + c.one_minus_alpha * g;
            if (m_options.momentum != 0) {
                u = c.mu * u + g / ((s - g_mean.square()).max(Scalar(0)).sqrt() + c.eps);
                p -= c.eta * u;
            } else {
                p -= c.eta * g / ((s - g_mean.square()).max(Scalar(0)).sqrt() + c.eps);
            }
        } else if (m_options.momentum != 0) {
            u = c.mu * u + g / (s.sqrt() + c.eps);
            p -= c.eta * u;
        } else {
            p -= c.eta * g / (s.sqrt() + c.eps);
        }
    }

    double m_learning_rate = 0.01;
    RmsPropOptions m_options;
    detail::OptimizerState m_buffers;
    detail::StepBounds m_bounds;  // of |s|, |u| and |ḡ|, for max_change()
};

}  // namespace nabla
