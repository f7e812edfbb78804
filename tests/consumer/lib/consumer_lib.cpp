#include "consumer_lib.hpp"

#include <nabla/version.hpp>

const char* consumer_lib_nabla_version() { return nabla::version; }
