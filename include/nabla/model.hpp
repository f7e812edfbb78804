#pragma once

// A trained network together with the scaling its inputs went through in training: what a
// program that only predicts needs, in one file. Training standardizes the inputs (a
// Standardizer fitted on the training data); a network used without that scaling predicts
// nonsense without any error, so the scaling travels in the model file (format version 3) and
// Model applies it before the first layer.
//
//     // where it is trained
//     nabla::save(net, scaler, "iris.nbl");
//     // where it is used
//     auto model = nabla::load_model<float, nabla::CrossEntropy>("iris.nbl");
//     std::vector<int> classes = model.classify(raw_inputs);   // features × samples, unscaled

#include <nabla/data/standardizer.hpp>
#include <nabla/detail/requires_cxx17.hpp>
#include <nabla/dynamic_network.hpp>
#include <nabla/io/atomic_file.hpp>
#include <nabla/io/model_file.hpp>
#include <nabla/metrics.hpp>

#include <Eigen/Core>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nabla {

/// A network and, optionally, the Standardizer its inputs go through: predict() and classify()
/// take raw inputs, features × samples, as the training data were before scaling.
template <class Scalar, class Loss>
class Model {
public:
    /// The network type a model file loads into.
    using Network = DynamicNetwork<Scalar, Loss>;
    /// outputs × samples, what predict() returns.
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

    /// A model whose inputs are used as they are.
    explicit Model(Network network) : m_network(std::move(network)) {}

    /// A model whose inputs go through `inputs` first. Throws ConfigError unless `inputs` is
    /// fitted on as many features as the network takes.
    Model(Network network, Standardizer<Scalar> inputs)
        : m_network(std::move(network)), m_inputs(std::move(inputs)) {
        detail::model::check_standardizer(m_network, *m_inputs);
    }

    /// The network's outputs for raw inputs `x` (features × samples): x standardized when the
    /// model has a Standardizer, then the forward pass. Throws ShapeError naming both shapes
    /// when x's rows are not the model's inputs.
    template <class Derived>
    Matrix predict(const Eigen::MatrixBase<Derived>& x) const {
        if (!m_inputs) return m_network.predict(x);
        return m_network.predict(m_inputs->transform(x));
    }

    /// The predicted class of each column of raw inputs `x`: the row of the largest output.
    template <class Derived>
    std::vector<int> classify(const Eigen::MatrixBase<Derived>& x) const {
        return predicted_classes(predict(x));
    }

    /// Saves the network and its Standardizer, when it has one, to `path` atomically: format
    /// version 3 with a Standardizer, as save(network, path) without.
    void save(const std::string& path) const {
        if (m_inputs)
            nabla::save(m_network, *m_inputs, path);
        else
            nabla::save(m_network, path);
    }

    /// The network, which takes standardized inputs.
    const Network& network() const { return m_network; }
    /// The network, to train further or to inspect.
    Network& network() { return m_network; }
    /// The Standardizer of the inputs; empty when inputs are used as they are.
    const std::optional<Standardizer<Scalar>>& standardizer() const { return m_inputs; }

private:
    Network m_network;
    std::optional<Standardizer<Scalar>> m_inputs;
};

/// The model stored in the file `path`: its network (as load_network builds it) and, for a
/// version 3 file, the Standardizer of its inputs. Throws FileError as load_network() does.
///
///     auto model = nabla::load_model<float, nabla::CrossEntropy>("iris.nbl");
template <class Scalar, class Loss>
Model<Scalar, Loss> load_model(const std::string& path) {
    return detail::model::with_model_file(path, [&](auto& input) {
        auto staged = detail::model::read_model<Scalar>(input, path);
        DynamicNetwork<Scalar, Loss> network =
            detail::model::build_network<Scalar, Loss>(staged, path);
        if (!staged.info.standardizer) return Model<Scalar, Loss>(std::move(network));
        return Model<Scalar, Loss>(std::move(network),
                                   detail::model::standardizer_of<Scalar>(staged.info, path));
    });
}

}  // namespace nabla
