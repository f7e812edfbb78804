// The runner of the tests that need Fashion-MNIST (test_fashion_mnist.cpp): when the data set is
// not installed, it says so and exits with code 77, which ctest reports as a skipped test (the
// SKIP_RETURN_CODE of tests/CMakeLists.txt), never as a pass. Listing the tests needs no data.

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include <nabla/data/fashion_mnist.hpp>

#include <cstring>
#include <iostream>

int main(int argc, char* argv[]) {
    bool listing = false;
    for (int i = 1; i < argc; ++i) listing = listing || std::strncmp(argv[i], "--list", 6) == 0;
    if (!listing && !nabla::fashion_mnist_available()) {
        std::cout << "SKIPPED: Fashion-MNIST is not installed in "
                  << nabla::fashion_mnist_default_dir
                  << " (sudo apt-get install -y dataset-fashion-mnist)\n";
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
