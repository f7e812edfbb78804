// The double half of nabla::compiled (include/nabla/compiled.hpp lists what the library holds).
#include <nabla/nabla.hpp>

NABLA_COMPILED_SCALAR(, double);
