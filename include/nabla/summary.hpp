#pragma once

// A network as a table, like Keras' summary(): one row per layer with its type, sizes,
// activation and parameter count, then the totals. `std::cout << net` prints it.
//
//     Network: 3 layers, CrossEntropy, float
//      #  layer     inputs  outputs  activation  parameters
//      1  Dense        784      256  relu           200,960
//      2  Dropout      256      256  rate=0.2             0
//      3  Dense        256       10  softmax          2,570
//     Total: 203,530 parameters (795.0 KiB)

#include <nabla/attributes.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/layer.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <locale>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace nabla {

namespace detail::summary {

/// `count` with a comma between each group of three digits: 1,234,567.
inline std::string grouped(Eigen::Index count) {
    std::string digits = std::to_string(count < 0 ? -count : count);
    for (std::ptrdiff_t at = std::ptrdiff_t(digits.size()) - 3; at > 0; at -= 3)
        digits.insert(std::size_t(at), ",");
    return count < 0 ? "-" + digits : digits;
}

/// "slope=0.2" for each attribute, separated by spaces; empty for none.
inline std::string attributes_text(const Attributes& attributes) {
    std::ostringstream out;
    out.imbue(std::locale::classic());
    for (const Attributes::Entry& entry : attributes.entries())
        out << (out.tellp() > 0 ? " " : "") << entry.first << "=" << entry.second;
    return out.str();
}

/// `text` padded with spaces to `width`, on the left when `right` (numbers), else on the right.
inline std::string padded(const std::string& text, std::size_t width, bool right) {
    const std::string fill(width > text.size() ? width - text.size() : 0, ' ');
    return right ? fill + text : text + fill;
}

/// "1.5 KiB", "795.0 KiB", "3.2 MiB": a byte count for people.
inline std::string bytes_text(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB"};
    std::size_t unit = 0;
    while (bytes >= 1024 && unit + 1 < std::size(units)) {
        bytes /= 1024;
        ++unit;
    }
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out.precision(1);
    out << std::fixed << bytes << " " << units[unit];
    return out.str();
}

/// Detects a network: a loss, a scalar type and for_each_layer().
template <class Net, class = void>
struct IsNetwork : std::false_type {};
template <class Net>
struct IsNetwork<Net, std::void_t<typename Net::Loss, typename Net::Scalar,
                                  decltype(std::declval<const Net&>().parameter_count())>>
    : std::true_type {};

}  // namespace detail::summary

/// `net` as a table: a heading with the layer count, loss and scalar type; one row per layer
/// with its number (from 1, as messages count), type, inputs, outputs, activation (or its own
/// attributes, such as Dropout's rate) and parameter count; and the total, with the memory its
/// parameters take.
template <class Net>
std::string summary(const Net& net) {
    using detail::summary::padded;
    using Row = std::vector<std::string>;
    std::vector<Row> rows{{"#", "layer", "inputs", "outputs", "activation", "parameters"}};
    std::size_t layers = 0;
    net.for_each_layer([&](const auto& layer, auto) {
        const ActivationSpec activation = activation_spec(layer);
        std::string described = activation.name;
        const std::string attributes = detail::summary::attributes_text(
            activation.name.empty() ? layer_attributes(layer) : activation.attributes);
        if (!attributes.empty()) described += (described.empty() ? "" : " ") + attributes;
        rows.push_back({std::to_string(++layers), std::string(layer.type_name()),
                        std::to_string(layer.inputs()), std::to_string(layer.outputs()),
                        described.empty() ? "-" : described,
                        detail::summary::grouped(layer.parameter_count())});
    });
    // Numbers are right-aligned, words left-aligned.
    const bool right[] = {true, false, true, true, false, true};
    std::vector<std::size_t> widths(rows.front().size(), 0);
    for (const Row& row : rows)
        for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());

    using Scalar = typename Net::Scalar;
    std::string text = detail::cat("Network: ", detail::plural(Eigen::Index(layers), "layer"), ", ",
                                   Net::Loss::name(), ", ",
                                   std::is_same_v<Scalar, float>    ? "float"
                                   : std::is_same_v<Scalar, double> ? "double"
                                                                    : "other scalar",
                                   "\n");
    for (const Row& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c)
            line += (c == 0 ? " " : "  ") + padded(row[c], widths[c], right[c]);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        text += line + "\n";
    }
    const Eigen::Index total = net.parameter_count();
    text += detail::cat("Total: ", detail::summary::grouped(total), " parameters (",
                        detail::summary::bytes_text(double(total) * double(sizeof(Scalar))), ")\n");
    return text;
}

/// Writes summary(net): `std::cout << net`.
template <class Net, std::enable_if_t<detail::summary::IsNetwork<Net>::value, int> = 0>
std::ostream& operator<<(std::ostream& out, const Net& net) {
    return out << summary(net);
}

}  // namespace nabla
