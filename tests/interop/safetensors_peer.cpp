// The C++ side of the PyTorch interop test (safetensors_torch.py), for a 6-8-3 network with ReLU
// and softmax, float:
//   safetensors_peer save <dir>   trains it briefly, writes <dir>/nabla.safetensors, and
//                                 <dir>/inputs.txt and <dir>/nabla_outputs.txt (one sample per
//                                 line) for PyTorch to compare against;
//   safetensors_peer load <dir>   loads <dir>/torch.safetensors, which PyTorch wrote, and writes
//                                 its outputs on <dir>/inputs.txt to <dir>/nabla_outputs.txt.
#include <nabla/nabla.hpp>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

namespace {

using Net = nabla::DynamicNetwork<float, nabla::CrossEntropy>;

Net make_net() { return Net({6, 8, 3}, {nabla::ReLU{}, nabla::Softmax{}}, 4); }

// samples × features, one sample per line: the transpose of nabla's layout.
void write_rows(const Eigen::MatrixXf& columns, const std::string& path) {
    std::ofstream out(path);
    out << std::setprecision(std::numeric_limits<float>::max_digits10);
    for (Eigen::Index j = 0; j < columns.cols(); ++j) {
        for (Eigen::Index i = 0; i < columns.rows(); ++i) out << (i ? " " : "") << columns(i, j);
        out << "\n";
    }
    if (!out) throw std::runtime_error("cannot write " + path);
}

Eigen::MatrixXf read_rows(const std::string& path, Eigen::Index features) {
    std::ifstream in(path);
    std::vector<float> values;
    for (float v; in >> v;) values.push_back(v);
    const Eigen::Index samples = Eigen::Index(values.size()) / features;
    if (samples == 0 || samples * features != Eigen::Index(values.size()))
        throw std::runtime_error(path + ": not a table of " + std::to_string(features) + " columns");
    return Eigen::Map<Eigen::MatrixXf>(values.data(), features, samples);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 || (std::string(argv[1]) != "save" && std::string(argv[1]) != "load")) {
        std::cerr << "usage: safetensors_peer save|load <dir>\n";
        return 2;
    }
    const std::string dir = argv[2];
    Net net = make_net();
    if (std::string(argv[1]) == "save") {
        const Eigen::MatrixXf x = Eigen::MatrixXf::Random(6, 40);
        std::vector<int> labels;
        for (Eigen::Index j = 0; j < x.cols(); ++j) labels.push_back(x(0, j) > 0 ? 1 : 0);
        nabla::Adam adam(1e-2);
        nabla::FitOptions options;
        options.epochs = 3;
        options.batch_size = 8;
        options.progress.mode = nabla::ProgressMode::silent;
        nabla::fit(net, adam, x, nabla::one_hot<float>(labels, 3), options);
        nabla::save_safetensors(net, dir + "/nabla.safetensors");
        write_rows(x, dir + "/inputs.txt");
        write_rows(net.predict(x), dir + "/nabla_outputs.txt");
    } else {
        nabla::load_safetensors(net, dir + "/torch.safetensors");
        write_rows(net.predict(read_rows(dir + "/inputs.txt", 6)), dir + "/nabla_outputs.txt");
    }
    return 0;
}
