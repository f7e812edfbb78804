// What the model file fuzz targets (fuzz_model.cpp as given, fuzz_model_crc.cpp with the
// checksum made right) do with their bytes: every reader of model files.
//
//   - load_network_from_bytes, with the loss the bytes name (so that a well-formed file gets past
//     the loss check) and the other scalar type than the one stored (so that float32 values are
//     widened and float64 values rounded to float, with its range check);
//   - load_from_bytes into two fixed networks: a Network of version 1 layers and a
//     DynamicNetwork with ELU and Dropout, which version 2 holds;
//   - for a quarter of the inputs, read_model_info through a file.
//
// docs/model-format.md promises that every failure is a FileError whose message starts with the
// name of the source, and that a failed load leaves the network exactly as it was. What loads is
// checked too: load_network's network saves, loads back and saves the same bytes, and predicts a
// batch; read_model_info reads every file that load_network loads, with the same sizes.

#include "fuzz_support.hpp"
#include "model_networks.hpp"
#include "targets.hpp"

#include <nabla/io/model_file.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nabla_fuzz {

namespace {

/// What messages call the bytes.
const std::string model_source = "fuzz input";

/// The little-endian u32 at `bytes`.
std::uint32_t read_u32(const std::uint8_t* bytes) {
    return std::uint32_t(bytes[0]) | std::uint32_t(bytes[1]) << 8 | std::uint32_t(bytes[2]) << 16 |
           std::uint32_t(bytes[3]) << 24;
}

/// The loss name the bytes hold at byte 20, or "" when they hold none.
std::string stored_loss(const std::uint8_t* data, std::size_t size) {
    if (size < 20) return "";
    const std::uint32_t length = read_u32(data + 16);
    if (length > 255 || size - 20 < length) return "";
    return std::string(reinterpret_cast<const char*>(data + 20), length);
}

/// load_network_from_bytes; the sizes of the network it loads, empty when it refuses the bytes.
template <class Scalar, class Loss>
std::vector<Eigen::Index> load_as_network(const std::uint8_t* data, std::size_t size) {
    using Net = nabla::DynamicNetwork<Scalar, Loss>;
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    std::optional<Net> net;
    if (!run(file_errors(model_source), "load_network_from_bytes", [&] {
            net.emplace(nabla::load_network_from_bytes<Scalar, Loss>(data, size, model_source));
        })) {
        return {};
    }
    const std::vector<Eigen::Index> sizes = net->sizes();
    run(no_errors(), "save and load_network_from_bytes of a loaded network", [&] {
        const std::string first = saved(*net);
        const Net again = nabla::load_network_from_bytes<Scalar, Loss>(first.data(), first.size(),
                                                                       "saved");
        require(again.sizes() == sizes, "a loaded network, saved and loaded back, has other sizes");
        require(saved(again) == first,
                "a loaded network, saved and loaded back, saves other bytes");
    });
    bool small = true;
    for (const Eigen::Index s : sizes) small = small && s <= 256;
    if (small) {
        run(no_errors(), "predict of a loaded network", [&] {
            const Matrix x = Matrix::Constant(sizes.front(), 3, Scalar(0.5));
            const Matrix y = net->predict(x);
            require(y.rows() == sizes.back() && y.cols() == 3,
                    "a loaded network predicts a batch of the wrong shape");
        });
    }
    return sizes;
}

/// load_as_network with the loss `Loss`, in the scalar type the bytes do not store.
template <class Loss>
std::vector<Eigen::Index> load_as_network(const std::uint8_t* data, std::size_t size) {
    const bool stores_float32 = size >= 16 && read_u32(data + 12) == 1;
    return stores_float32 ? load_as_network<double, Loss>(data, size)
                          : load_as_network<float, Loss>(data, size);
}

/// load_from_bytes into a copy of `built`; a failed load must leave it as it was.
template <class Net>
void load_into(const Net& built, const std::uint8_t* data, std::size_t size) {
    static const std::string before = saved(built);
    Net net = built;
    if (run(file_errors(model_source), "load_from_bytes",
            [&] { nabla::load_from_bytes(net, data, size, model_source); })) {
        return;
    }
    require(saved(net) == before, "a load that failed changed the network");
}

}  // namespace

void fuzz_model_bytes(const std::uint8_t* data, std::size_t size) {
    const std::string loss = stored_loss(data, size);
    std::vector<Eigen::Index> sizes;
    if (loss == nabla::CrossEntropy::name()) {
        sizes = load_as_network<nabla::CrossEntropy>(data, size);
    } else if (loss == nabla::BinaryCrossEntropy::name()) {
        sizes = load_as_network<nabla::BinaryCrossEntropy>(data, size);
    } else if (loss == nabla::SquaredError::name()) {
        sizes = load_as_network<nabla::SquaredError>(data, size);
    } else {
        sizes = load_as_network<nabla::HalfSquaredError>(data, size);
    }

    load_into(model_v1_net(), data, size);
    load_into(model_v2_net(), data, size);

    if (size % 4 == 0) {
        static TempFile file("model");
        file.write(data, size);
        nabla::ModelInfo info;
        const bool read = run(file_errors(file.path()), "read_model_info",
                              [&] { info = nabla::read_model_info(file.path()); });
        if (!sizes.empty()) {
            require(read, "read_model_info refuses a file that load_network_from_bytes loads");
            require(info.sizes() == sizes,
                    "read_model_info and load_network_from_bytes give other sizes");
        }
    }
}

}  // namespace nabla_fuzz
