// Prints "downstream: nabla <version>, consumer_lib <version>": the version of nabla's headers
// this file sees through consumer::consumer_lib, and the one the library was compiled with.
#include <consumer_lib.hpp>
#include <nabla/version.hpp>

#include <Eigen/Core>
#include <cstdio>
#include <cstring>

int main() {
    const Eigen::Vector2f sum = Eigen::Vector2f::Ones() + Eigen::Vector2f::Ones();
    std::printf("downstream: nabla %s, consumer_lib %s\n", nabla::version,
                consumer_lib_nabla_version());
    return std::strcmp(nabla::version, consumer_lib_nabla_version()) == 0 && sum(1) == 2 ? 0 : 1;
}
