#pragma once

// The consumer test's exported library (subdirectory mode): it links nabla::nabla PUBLIC, so
// its installed package must bring nabla with it.
const char* consumer_lib_nabla_version();
