# cmake -DVERSION=<x.y.z> -DHEADER=<include/nabla/version.hpp> -P check_version.cmake
# Fails unless the header's NABLA_VERSION_MAJOR/MINOR/PATCH and nabla::version all say VERSION,
# the version of project(nabla VERSION ...) (ctest version_matches_project).
file(READ "${HEADER}" text)
string(REGEX MATCH "#define NABLA_VERSION_MAJOR ([0-9]+)" _ "${text}")
set(major "${CMAKE_MATCH_1}")
string(REGEX MATCH "#define NABLA_VERSION_MINOR ([0-9]+)" _ "${text}")
set(minor "${CMAKE_MATCH_1}")
string(REGEX MATCH "#define NABLA_VERSION_PATCH ([0-9]+)" _ "${text}")
set(patch "${CMAKE_MATCH_1}")
string(REGEX MATCH "version = \"([0-9.]+)\"" _ "${text}")
set(string "${CMAKE_MATCH_1}")
if(NOT "${major}.${minor}.${patch}" STREQUAL "${VERSION}" OR NOT string STREQUAL "${VERSION}")
    message(FATAL_ERROR "${HEADER}: macros say ${major}.${minor}.${patch}, nabla::version says "
                        "'${string}'; CMakeLists.txt's project() says ${VERSION}")
endif()
message(STATUS "version.hpp and CMakeLists.txt both say ${VERSION}")
