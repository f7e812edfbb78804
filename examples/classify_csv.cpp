// Classifies the rows of a CSV file with a model saved by nabla::save(net, scaler, path): the
// program of docs/deployment.md. Prints one class per row.
//
//     build/examples/classify_csv blobs.nbl examples/data/blobs_new.csv

#include <nabla/nabla.hpp>

#include <iostream>

int main(int argc, char** argv) try {
    if (argc != 3) return std::cerr << "usage: classify_csv MODEL.nbl DATA.csv\n", 2;
    const auto model = nabla::load_model<float, nabla::CrossEntropy>(argv[1]);
    const auto data = nabla::read_csv<float>(argv[2]);  // features × samples, unscaled
    for (int c : model.classify(data.features)) std::cout << c << '\n';
} catch (const std::exception& error) {
    std::cerr << "classify_csv: " << error.what() << '\n';
    return 1;
}
