#pragma once

#include <nabla/optim/detail/checks.hpp>
#include <nabla/optim/detail/segments.hpp>
#include <nabla/optim/detail/state.hpp>
#include <nabla/optim/detail/step_bounds.hpp>
#include <nabla/parameters.hpp>

#include <Eigen/Core>

namespace nabla {

/// The options of Sgd beyond the learning rate; the defaults give plain SGD. In C++20:
/// `nabla::Sgd sgd(0.1, {.momentum = 0.9, .nesterov = true});` in C++17: `{0.9, true}`.
struct SgdOptions {
    double momentum = 0;      ///< μ in [0, 1); 0 keeps no velocity.
    bool nesterov = false;    ///< Nesterov momentum; needs μ > 0.
    double weight_decay = 0;  ///< λ ≥ 0: an L2 penalty λ/2·‖p‖² added to the cost.
};

/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
/// as torch.optim.SGD (dampening 0). For each parameter p (every W and b) with gradient ∇p:
///
///     g ← ∇p + λp                       (λ = 0: g = ∇p, the notes' update)
///     μ = 0:     p ← p − ηg
///     momentum:  v ← μv + g;  p ← p − ηv          (v starts at 0, so v₁ = g)
///     Nesterov:  v ← μv + g;  p ← p − η(g + μv)
///
///     nabla::Sgd sgd(0.1, {0.9});        // μ = 0.9
///     net.backward(x, y, ws);
///     sgd.step(net, ws);
///
/// Every optimizer in nabla has this shape: step(net, ws) applies one update to `net` from the
/// gradients that backward() left in `ws`, in place; learning_rate() and set_learning_rate()
/// read and change η (schedules call the latter once per epoch); reset() forgets any state
/// kept between steps. State is indexed by parameter slot (layer, W or b), sized on the first
/// step and reused, so later steps allocate nothing. A step on a network whose layer shapes
/// differ from the last one starts the state afresh; call reset() before stepping another
/// network of the same shapes. float and double networks are supported.
class Sgd {
public:
    /// SGD with learning rate η and `options`; throws ConfigError, naming the option and its
    /// value, unless η ≥ 0, 0 ≤ μ < 1, λ ≥ 0 (all finite) and μ > 0 when nesterov is set.
    explicit Sgd(double learning_rate = 0.01, const SgdOptions& options = {})
        : m_options(options) {
        set_learning_rate(learning_rate);
        detail::check_half_open_option("Sgd", "momentum", options.momentum, 0, 1);
        detail::check_non_negative_option("Sgd", "weight_decay", options.weight_decay);
        if (options.nesterov && options.momentum == 0) {
            throw ConfigError("Sgd: nesterov needs a momentum above 0, got momentum 0");
        }
    }

    /// One step on every W and b of `net` with the gradients in `ws` (see the class comment).
    /// Throws ShapeError when `ws` holds no gradients or gradients of other shapes.
    template <class Net, class Workspace>
    void step(Net& net, const Workspace& ws) {
        using Scalar = typename Net::Scalar;
        detail::check_step_gradients(net, ws, "Sgd");
        detail::check_step_learning_rate<Scalar>("Sgd::step", m_learning_rate);
        m_bounds.stepped();
        const Scalar eta = Scalar(m_learning_rate);
        const Scalar lambda = Scalar(m_options.weight_decay);
        const Scalar mu = Scalar(m_options.momentum);
        if (m_options.momentum == 0) {  // one expression per block: one pass already
            for_each_parameter(net, ws, [&](auto& p, const auto& grad, const ParameterInfo&) {
                if (m_options.weight_decay == 0)
                    p -= eta * grad;  // the notes' W ← W − η∇W
                else
                    p.array() -= eta * (grad.array() + lambda * p.array());
            });
            return;
        }
        m_velocity.fit(net, 1);
        // One pass per parameter block: v and p of a segment are updated back to back while
        // the segment sits in L1 (optim/detail/segments.hpp). p changes last, so the p on the
        // right is still the p the gradient was taken at.
        for_each_parameter(net, ws, [&](auto& p_block, const auto& grad_block,
                                        const ParameterInfo& info) {
            detail::for_each_segment(
                [&](auto p, auto grad, auto v) {
                    if (m_options.weight_decay == 0)
                        v = mu * v + grad;
                    else
                        v = mu * v + (grad + lambda * p);
                    if (!m_options.nesterov)
                        p -= eta * v;
                    else if (m_options.weight_decay == 0)
                        p -= eta * (grad + mu * v);
                    else
                        p -= eta * ((grad + lambda * p) + mu * v);
                },
                p_block, grad_block, m_velocity.of(0, p_block, info));
        });
    }

    /// An upper bound on |Δp| of the next step, given max|∇p| ≤ G and max|p| ≤ P; +∞ when the
    /// velocity may leave the finite range of the network's scalar type (optim/step_guard.hpp).
    template <class Net>
    double max_change(const Net& net, double max_gradient, double max_parameter) {
        using Scalar = typename Net::Scalar;
        (void)net;
        const double g = max_gradient + m_options.weight_decay * max_parameter;
        if (m_options.momentum == 0) return m_learning_rate * g;
        const double mu = m_options.momentum;
        const double v = mu * m_bounds.current<Scalar>(m_velocity)[0] + g;  // |μv + g|
        m_bounds.expect({v, 0, 0});
        return detail::unless_state_finite<Scalar>(
            m_learning_rate * (m_options.nesterov ? g + mu * v : v), {v, 0, 0});
    }

    /// Writes the velocities, for a checkpoint (io/checkpoint.hpp).
    void save_state(detail::StateWriter& out) const { m_velocity.write(out); }
    /// Reads what save_state() wrote.
    void load_state(detail::StateReader& in) {
        m_velocity.read(in);
        m_bounds.forget();
    }

    /// True when every entry of the state kept between steps is finite.
    bool state_finite() const { return m_velocity.finite(); }

    /// η.
    double learning_rate() const { return m_learning_rate; }
    /// Sets η; throws ConfigError unless it is finite and at least 0 (0 freezes the network).
    void set_learning_rate(double learning_rate) {
        detail::check_learning_rate("Sgd", learning_rate);
        m_learning_rate = learning_rate;
    }
    /// True without momentum and weight decay: a step is the notes' p ← p − η∇p, which fit()
    /// adds straight into the parameters during the backward pass (Network::train_step).
    bool plain_step() const { return m_options.momentum == 0 && m_options.weight_decay == 0; }
    /// μ, Nesterov and λ as given.
    const SgdOptions& options() const { return m_options; }
    /// Forgets the velocities: the next step starts from v = 0, as the first one did.
    void reset() {
        m_velocity.clear();
        m_bounds.reset();
    }

private:
    double m_learning_rate = 0.01;
    SgdOptions m_options;
    detail::OptimizerState m_velocity;
    detail::StepBounds m_bounds;  // of |v|, for max_change()
};

}  // namespace nabla
