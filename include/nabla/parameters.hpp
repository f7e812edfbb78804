#pragma once

// The parameter list: one view of every parameter block of a network (Dense: W, then b, layer
// by layer) and, after a backward pass, of its gradient. Optimizers, gradient checks,
// initialisers, save/load and DataParallel all see parameters this way and no other.
//
// The gradients lie in one contiguous array of the workspace (Workspace::gradient_vector()), in
// the order of this list, so block k's gradient starts where blocks 0 … k−1 end; the parameters
// stay in their layers, and copy_parameters()/set_parameters() give them as one vector too.
//
//     nabla::for_each_parameter(net, ws, [&](auto& p, const auto& grad, const nabla::ParameterInfo& info) {
//         p -= eta * grad;   // W ← W − η∇W, for every block of every layer
//     });

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/layer.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

namespace nabla {

/// Where a parameter block sits: its layer, its name there, and its place in the gradient array.
struct ParameterInfo {
    std::size_t layer = 0;     ///< Zero-based, as net.layer(i) counts (messages say layer + 1).
    const char* name = "";     ///< The layer's name for the block: "W" or "b" for Dense.
    Eigen::Index offset = 0;   ///< Its first entry in the contiguous gradient array.
};

namespace detail {

/// The matrix type a parameter block is a view of (the block's own type for a matrix).
template <class Block>
using PlainOf = typename std::decay_t<Block>::PlainObject;

}  // namespace detail

/// Calls f(block, info) for every parameter block of `net`, input side first, each layer's
/// blocks in its order; block is writable when net is.
template <class Net, class F>
void for_each_parameter(Net& net, F&& f) {
    Eigen::Index offset = 0;
    net.for_each_layer([&](auto& layer, auto i) {
        layer.for_each_parameter([&](auto& block, const char* name) {
            f(block, ParameterInfo{static_cast<std::size_t>(i), name, offset});
            offset += block.size();
        });
    });
}

/// Calls f(block, gradient, info) for every parameter block of `net` with its gradient in `ws`
/// (a view of ws.gradient_vector(), shaped like the block, compile-time sizes kept). The
/// caller has checked that ws holds gradients of net's shape (check_gradients).
template <class Net, class Workspace, class F>
void for_each_parameter(Net& net, const Workspace& ws, F&& f) {
    using Scalar = typename Net::Scalar;
    const Scalar* gradients = ws.gradient_vector().data();
    for_each_parameter(net, [&](auto& block, const ParameterInfo& info) {
        using Plain = detail::PlainOf<decltype(block)>;
        const Eigen::Map<const Plain> gradient(gradients + info.offset, block.rows(),
                                               block.cols());
        f(block, gradient, info);
    });
}

/// Every parameter of `net` in one vector, in the order of the gradient array.
template <class Net>
Eigen::Matrix<typename Net::Scalar, Eigen::Dynamic, 1> copy_parameters(const Net& net) {
    Eigen::Matrix<typename Net::Scalar, Eigen::Dynamic, 1> values(net.parameter_count());
    for_each_parameter(net, [&](const auto& block, const ParameterInfo& info) {
        values.segment(info.offset, block.size()) = block.reshaped();
    });
    return values;
}

/// Sets every parameter of `net` from one vector in the order of the gradient array (as
/// copy_parameters() gives it). Throws ShapeError unless it has net.parameter_count() entries.
template <class Net, class Values>
void set_parameters(Net& net, const Eigen::MatrixBase<Values>& values) {
    if (values.size() != net.parameter_count() || (values.rows() != 1 && values.cols() != 1)) {
        throw ShapeError(detail::cat("set_parameters: ", detail::shape(values.rows(), values.cols()),
                                     " values given, the network has ", net.parameter_count(),
                                     " parameters"));
    }
    for_each_parameter(net, [&](auto& block, const ParameterInfo& info) {
        block.reshaped() = values.derived().reshaped().segment(info.offset, block.size());
    });
}

namespace detail {

/// Throws ShapeError, naming `where`, unless `ws` holds gradients from a backward pass of a
/// network of `net`'s shape: no reader of the gradients ever reads past the array or mixes up
/// layers. The one gradient-shape check.
template <class Net, class Workspace>
void check_gradients(const Net& net, const Workspace& ws, const std::string& where) {
    if (!ws.has_gradients()) {
        throw ShapeError(cat(where, ": the workspace holds no gradients; run backward() on it "
                                    "first"));
    }
    if (ws.prepared_layers() == std::size_t(net.layer_count())) {
        net.for_each_layer([&](const auto& layer, auto i) {
            const std::size_t l = static_cast<std::size_t>(i);
            const auto& record = ws.record(l);
            if (record.inputs == layer.inputs() && record.outputs == layer.outputs() &&
                record.parameters == layer.parameter_count())
                return;
            bool has_weights = false;
            layer.for_each_parameter([&](const auto&, const char* name) {
                has_weights = has_weights || std::string_view(name) == "W";
            });
            throw ShapeError(cat(where, ": the workspace holds gradients of shape ",
                                 shape(record.outputs, record.inputs), " for ",
                                 layer_name(layer, l + 1),
                                 has_weights ? ", whose W is " : ", which is ",
                                 shape(layer.outputs(), layer.inputs())));
        });
    }
    if (ws.gradient_vector().size() != net.parameter_count() ||
        ws.prepared_layers() != std::size_t(net.layer_count())) {
        throw ShapeError(cat(where, ": the workspace holds gradients of ", ws.prepared_layers(),
                             " layers and ", ws.gradient_vector().size(), " entries, the network has ",
                             net.layer_count(), " layers and ", net.parameter_count(),
                             " parameters"));
    }
}

}  // namespace detail

}  // namespace nabla
