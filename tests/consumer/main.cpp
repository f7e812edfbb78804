// The consumer test's program (tests/consumer/run.sh builds it four ways: find_package,
// add_subdirectory, FetchContent, pkg-config): trains a DynamicNetwork<float> on XOR, saves it to
// the path given on the command line, loads it back with load_network, and checks that the copy
// predicts the same, bit for bit, and that both get all four samples right. Prints one line,
//
//     consumer: nabla 0.2.0: trained, saved, loaded: accuracy 1.00
//
// and exits 0; on any failure it says what failed on stderr and exits 1.
#include <nabla/nabla.hpp>

#include <cstdio>
#include <exception>
#include <string>

namespace {

int fail(const std::string& what) {
    std::fprintf(stderr, "consumer: %s\n", what.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <model file to write>\n", argc > 0 ? argv[0] : "consumer");
        return 2;
    }
    // The version macros and the string of <nabla/version.hpp> agree (run.sh compares the string
    // with the project version of nabla's CMakeLists.txt).
    const std::string macros = std::to_string(NABLA_VERSION_MAJOR) + "." +
                               std::to_string(NABLA_VERSION_MINOR) + "." +
                               std::to_string(NABLA_VERSION_PATCH);
    if (macros != nabla::version)
        return fail("NABLA_VERSION_* say " + macros + ", nabla::version says " + nabla::version);
    try {
        Eigen::MatrixXf x(2, 4);  // one sample per column
        x << 0, 0, 1, 1,
             0, 1, 0, 1;
        Eigen::MatrixXf y(1, 4);
        y << 0, 1, 1, 0;

        nabla::DynamicNetwork<float, nabla::BinaryCrossEntropy> net(
            {2, 8, 1}, {nabla::Tanh{}, nabla::Sigmoid{}}, /*seed=*/3);
        nabla::Adam adam(0.05);
        nabla::FitOptions options;
        options.epochs = 300;
        options.batch_size = 4;
        options.progress.mode = nabla::ProgressMode::silent;
        nabla::fit(net, adam, x, y, options);
        const Eigen::MatrixXf trained = net.predict(x);
        const double accuracy = nabla::accuracy(trained, y);

        nabla::save(net, argv[1]);
        const auto loaded = nabla::load_network<float, nabla::BinaryCrossEntropy>(argv[1]);
        const Eigen::MatrixXf reloaded = loaded.predict(x);

        if (reloaded.rows() != trained.rows() || reloaded.cols() != trained.cols() ||
            reloaded != trained)
            return fail("the loaded network predicts differently from the one saved");
        if (accuracy != 1.0)
            return fail("XOR accuracy " + std::to_string(accuracy) + " after training, not 1");
        std::printf("consumer: nabla %s: trained, saved, loaded: accuracy %.2f\n", nabla::version,
                    accuracy);
        return 0;
    } catch (const std::exception& error) {
        return fail(std::string("error: ") + error.what());
    }
}
