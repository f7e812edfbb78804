#pragma once

// A network as a Graphviz DOT graph, drawn the way the notes draw backpropagation: one node per
// neuron, columns ranked from the input through the hidden layers to the output, an edge k → j
// for each weight w_jk labelled with its value, blue when positive and red when negative, thicker
// the larger |w_jk| is within its layer. Each neuron shows its bias, and, given a workspace after
// backward(), its activation a and error δ for one sample, so a diagram shows equations (1)–(4)
// at work. Render with `dot -Tsvg net.dot -o net.svg`.
//
//     nabla::write_dot(net, "net.dot");                 // parameters only
//     net.backward(x, y, ws);
//     nabla::write_dot(net, ws, "backprop.dot");        // plus a and δ of sample 0
//
// Wide layers are cut: past DotOptions::max_neurons_per_layer the rest of a layer is one
// "… n more" node, so a 784-input network gives a readable graph, not 200,000 edges.

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/io/atomic_file.hpp>
#include <nabla/layer.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <locale>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace nabla {

/// What to_dot() draws and how.
struct DotOptions {
    /// Significant digits of every number shown (w, b, a, δ, x): 1 to 17.
    int precision = 3;
    /// Neurons drawn per layer, input layer included; the rest of a layer is drawn as one
    /// "… n more" node without edges. At least 1.
    Eigen::Index max_neurons_per_layer = 12;
    /// Label each edge with its weight w_jk; colour and width show it either way.
    bool weight_labels = true;
    /// With a workspace: the sample (column) whose input x, activations a and errors δ are shown.
    Eigen::Index sample = 0;
};

/// The pieces of to_dot().
namespace detail::dot {

/// `value` with `precision` significant digits, in the classic locale ("0.123", "-2", "1e-05").
inline std::string number(double value, int precision) {
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out.precision(precision);
    out << value;
    return out.str();
}

/// `text` as a DOT string literal: quoted, quotes and backslashes escaped, each line break
/// written as DOT's centred line break \n.
inline std::string dot_literal(const std::string& text) {
    std::string result = "\"";
    for (char c : text) {
        if (c == '\n') {
            result += "\\n";
            continue;
        }
        if (c == '"' || c == '\\') result += '\\';
        result += c;
    }
    return result + "\"";
}

/// The node of neuron j of layer l (l = 0 for the inputs).
inline std::string node(std::size_t l, Eigen::Index j) { return cat("n", l, "_", j); }

/// Throws ConfigError for options outside their domain.
inline void check_options(const DotOptions& options) {
    if (options.precision < 1 || options.precision > 17) {
        throw ConfigError(cat("DotOptions::precision is ", options.precision,
                              "; it must be 1 to 17 significant digits"));
    }
    if (options.max_neurons_per_layer < 1) {
        throw ConfigError(cat("DotOptions::max_neurons_per_layer is ",
                              options.max_neurons_per_layer, "; it must be at least 1"));
    }
}

/// Throws ShapeError unless `ws` holds a backward pass of `net` with the chosen sample.
template <class Net, class Workspace>
void check_workspace(const Net& net, const Workspace& ws, const DotOptions& options) {
    if (!ws.has_gradients()) {
        throw ShapeError("to_dot: the workspace holds no errors δ; run backward() on it first");
    }
    if (options.sample < 0 || options.sample >= ws.batch_size()) {
        throw ShapeError(cat("to_dot: DotOptions::sample is ", options.sample,
                             ", the workspace holds ", samples(ws.batch_size()),
                             " (columns 0 to ", ws.batch_size() - 1, ")"));
    }
    net.for_each_layer([&](const auto& layer, auto i) {
        const auto& a = ws.layer(i).a;
        if (a.rows() != layer.outputs() || ws.input_of(i).rows() != layer.inputs()) {
            throw ShapeError(cat("to_dot: the workspace holds a of ", plural(a.rows(), "row"),
                                 " for ", layer_name(layer, std::size_t(i) + 1), ", which has ",
                                 plural(layer.outputs(), "neuron")));
        }
    });
}

/// A layer's W and b in double, as the diagram shows them; empty for a layer without them
/// (Dropout), which is drawn with one edge per neuron.
struct Weights {
    Eigen::MatrixXd w;  ///< outputs × inputs, or empty.
    Eigen::VectorXd b;  ///< outputs, or empty.
};

template <class Layer>
Weights weights_of(const Layer& layer) {
    Weights result;
    layer.for_each_parameter([&](const auto& block, const char* name) {
        if (std::string_view(name) == "W") result.w = block.template cast<double>();
        if (std::string_view(name) == "b") result.b = block.template cast<double>().reshaped();
    });
    return result;
}

/// Opens a column of nodes, one rank of the drawing.
inline void open_cluster(std::ostream& out, std::size_t l, const std::string& label) {
    out << "  subgraph cluster_" << l << " {\n"
        << "    label=" << dot_literal(label) << ";\n"
        << "    color=\"#cccccc\";\n";
}

/// The "… n more" node standing for the neurons of layer l past the first `drawn`.
inline void elision_node(std::ostream& out, std::size_t l, Eigen::Index total,
                         Eigen::Index drawn) {
    if (drawn < total) {
        out << "    n" << l << "_more [shape=box, style=dashed, label="
            << dot_literal(cat("… ", total - drawn, " more")) << "];\n";
    }
}

/// Writes the whole graph; `ws` is null for parameters only.
template <class Net, class Workspace>
std::string render(const Net& net, const Workspace* ws, const DotOptions& options) {
    check_options(options);
    if (ws) check_workspace(net, *ws, options);
    const int digits = options.precision;
    const Eigen::Index limit = options.max_neurons_per_layer;
    const Eigen::Index sample = options.sample;
    const auto show = [&](double value) { return number(value, digits); };

    std::ostringstream out;
    out.imbue(std::locale::classic());
    std::string sizes_text;
    for (Eigen::Index size : net.sizes()) sizes_text += cat(sizes_text.empty() ? "" : ", ", size);
    out << "digraph nabla {\n"
        << "  graph [rankdir=LR, splines=line, nodesep=0.2, ranksep=1.4, labelloc=t, label="
        << dot_literal(cat("network [", sizes_text, "], loss ", Net::Loss::name(),
                      ws ? cat(", sample ", sample) : std::string()))
        << "];\n"
        << "  node [shape=circle, fontsize=10, margin=0.02];\n"
        << "  edge [arrowsize=0.5, fontsize=8];\n";

    const Eigen::Index inputs = net.inputs();
    const Eigen::Index drawn_inputs = std::min(inputs, limit);
    open_cluster(out, 0, cat("input: ", plural(inputs, "neuron")));
    for (Eigen::Index k = 0; k < drawn_inputs; ++k) {
        std::string label = cat("x", k);
        if (ws) label += cat("\n=", show(double(ws->input()(k, sample))));
        out << "    " << node(0, k) << " [shape=box, label=" << dot_literal(label) << "];\n";
    }
    elision_node(out, 0, inputs, drawn_inputs);
    out << "  }\n";

    const std::size_t count = std::size_t(net.layer_count());
    net.for_each_layer([&](const auto& layer, auto index) {
        const std::size_t l = static_cast<std::size_t>(index) + 1;
        const Eigen::Index n = layer.outputs();
        const Eigen::Index drawn = std::min(n, limit);
        const Eigen::Index drawn_below = std::min(layer.inputs(), limit);
        const std::string activation(activation_name(layer));
        const Weights weights = weights_of(layer);
        const std::string kind =
            activation.empty() ? std::string(layer.type_name()) : activation;
        open_cluster(out, l, cat(l == count ? "output" : "layer ", l == count ? "" : cat(l),
                                 ": ", plural(n, "neuron"), ", ", kind));
        for (Eigen::Index j = 0; j < drawn; ++j) {
            std::string label = cat(j);
            if (weights.b.size() > 0) label += cat("\nb=", show(weights.b(j)));
            if (ws) {
                const auto& state = ws->layer(index);
                label += cat("\na=", show(double(state.a(j, sample))),
                             "\nδ=", show(double(error_term(state)(j, sample))));
            }
            out << "    " << node(l, j) << " [label=" << dot_literal(label) << "];\n";
        }
        elision_node(out, l, n, drawn);
        out << "  }\n";

        if (weights.w.size() == 0) {  // no weights: neuron k passes to neuron k
            for (Eigen::Index k = 0; k < std::min(drawn, drawn_below); ++k) {
                out << "  " << node(l - 1, k) << " -> " << node(l, k)
                    << " [color=\"#999999\", style=dashed];\n";
            }
            return;
        }
        // Widths compare the weights of one layer: layers differ in scale (He vs Glorot).
        double largest = 0;
        for (Eigen::Index j = 0; j < drawn; ++j)
            for (Eigen::Index k = 0; k < drawn_below; ++k) {
                const double w = std::abs(weights.w(j, k));
                if (std::isfinite(w)) largest = std::max(largest, w);
            }
        for (Eigen::Index j = 0; j < drawn; ++j) {
            for (Eigen::Index k = 0; k < drawn_below; ++k) {
                const double w = weights.w(j, k);
                const char* colour = w > 0 ? "#2166ac" : w < 0 ? "#b2182b" : "#999999";
                const double width = largest > 0 && std::isfinite(w)
                                         ? 0.5 + 3.5 * std::abs(w) / largest
                                         : 1.0;
                out << "  " << node(l - 1, k) << " -> " << node(l, j) << " [color=\"" << colour
                    << "\", penwidth=" << number(width, 3);
                if (options.weight_labels) out << ", label=" << dot_literal(show(w));
                out << "];\n";
            }
        }
    });
    out << "}\n";
    return out.str();
}

/// True for a type with a workspace's has_gradients().
template <class T, class = void>
struct is_workspace : std::false_type {};
template <class T>
struct is_workspace<T, std::void_t<decltype(std::declval<const T&>().has_gradients())>>
    : std::true_type {};

}  // namespace detail::dot

/// The DOT text of `net`: neurons ranked by layer, edges k → j labelled w_jk, coloured by sign
/// (blue +, red −) and as wide as |w_jk| is large within its layer, biases on the neurons.
/// Throws ConfigError for options outside their domain.
template <class Net, class = typename Net::Loss>
std::string to_dot(const Net& net, const DotOptions& options = {}) {
    const typename Net::template Workspace<>* none = nullptr;
    return detail::dot::render(net, none, options);
}

/// to_dot() with each neuron's activation a and error δ for sample options.sample as `ws` holds
/// them after net.backward(x, y, ws), and each input's value. Throws ShapeError when `ws` holds
/// no backward pass, one of another network, or fewer samples.
template <class Net, class Workspace, class = typename Net::Loss,
          std::enable_if_t<detail::dot::is_workspace<Workspace>::value, int> = 0>
std::string to_dot(const Net& net, const Workspace& ws, const DotOptions& options = {}) {
    return detail::dot::render(net, &ws, options);
}

/// Writes to_dot(net, options) to `path` atomically (write_file_atomically). Throws FileError
/// naming the path when it cannot be written.
template <class Net, class = typename Net::Loss>
void write_dot(const Net& net, const std::string& path, const DotOptions& options = {}) {
    const std::string text = to_dot(net, options);
    write_file_atomically(path, [&](std::ostream& out) { out << text; });
}

/// Writes to_dot(net, ws, options) to `path` atomically.
template <class Net, class Workspace, class = typename Net::Loss,
          std::enable_if_t<detail::dot::is_workspace<Workspace>::value, int> = 0>
void write_dot(const Net& net, const Workspace& ws, const std::string& path,
               const DotOptions& options = {}) {
    const std::string text = to_dot(net, ws, options);
    write_file_atomically(path, [&](std::ostream& out) { out << text; });
}

}  // namespace nabla
