#pragma once

// The two fixed networks the model file fuzz targets load into (model_target.cpp), which
// make_corpus.cpp saves into their corpus.

#include <nabla/io/model_file.hpp>
#include <nabla/layers/dropout.hpp>
#include <nabla/network.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace nabla_fuzz {

/// A Network that version 1 holds: LeakyReLU (slope 0.01) and softmax.
using ModelV1Net = nabla::Network<nabla::CrossEntropy, nabla::Dense<float, 4, 3, nabla::LeakyReLU>,
                                  nabla::Dense<float, 3, 2, nabla::Softmax>>;

/// A DynamicNetwork that only version 2 holds: ELU (α = 0.5), Dropout (rate 0.25), identity.
using ModelV2Net = nabla::DynamicNetwork<float, nabla::HalfSquaredError>;

/// The networks the bytes are loaded into, as built (the corpus holds them saved).
inline const ModelV1Net& model_v1_net() {
    static const ModelV1Net net(/*seed=*/1);
    return net;
}

inline const ModelV2Net& model_v2_net() {
    static const ModelV2Net net = [] {
        ModelV2Net built(std::vector<nabla::AnyLayer<float>>{
            ModelV2Net::Layer(3, 4, nabla::ELU{0.5}), nabla::Dropout<float>(4, 0.25),
            ModelV2Net::Layer(4, 2, nabla::Identity{})});
        built.initialize(/*seed=*/2);
        return built;
    }();
    return net;
}

/// The model file of `net`.
template <class Net>
std::string saved(const Net& net) {
    std::ostringstream out;
    nabla::save(net, out);
    return out.str();
}

}  // namespace nabla_fuzz
