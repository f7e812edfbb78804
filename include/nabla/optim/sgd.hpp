#pragma once

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/layer.hpp>

#include <cmath>

namespace nabla {

/// Plain stochastic gradient descent, the update the notes end on: W ← W − η∇W, b ← b − η∇b.
///
/// Every optimizer in nabla has this shape: step(net, ws) applies one update to `net` from the
/// gradients that backward() left in `ws`, in place; learning_rate() and set_learning_rate()
/// read and change η (schedules call the latter once per epoch); reset() forgets any state
/// kept between steps. State is sized on the first step and reused, so steps allocate nothing.
class Sgd {
public:
    /// SGD with learning rate η; throws ConfigError unless η is positive and finite.
    explicit Sgd(double learning_rate = 0.01) { set_learning_rate(learning_rate); }

    /// One step: W ← W − η∇W, b ← b − η∇b in every layer, with the gradients in `ws`.
    template <class Net, class Workspace>
    void step(Net& net, const Workspace& ws) {
        net.update(ws, typename Net::Scalar(m_learning_rate));
    }

    /// η.
    double learning_rate() const { return m_learning_rate; }
    /// Sets η; throws ConfigError unless it is positive and finite.
    void set_learning_rate(double learning_rate) {
        if (!(std::isfinite(learning_rate) && learning_rate > 0)) {
            throw ConfigError(detail::cat("Sgd: learning_rate must be positive and finite, got ",
                                          learning_rate));
        }
        m_learning_rate = learning_rate;
    }
    /// Plain SGD keeps no state between steps.
    void reset() {}

private:
    double m_learning_rate = 0.01;
};

}  // namespace nabla
