// Compiled with -std=c++14 by its test: nabla must stop at once with a message that names C++17.
#include <nabla/nabla.hpp>

int main() {}
