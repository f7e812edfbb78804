// The float half of nabla::compiled, and the activations (include/nabla/compiled.hpp lists
// what the library holds).
#include <nabla/nabla.hpp>

NABLA_COMPILED_ACTIVATIONS();
NABLA_COMPILED_SCALAR(, float);
