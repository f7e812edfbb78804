# Checks that a file compiled against nabla::compiled instantiated none of what the library
# holds: its object file must reference fit(), save() and the Dense layer's holder (nm: U) and
# define none of them (nm: T, W and the like). Run by the ctest compiled_probe_instantiates_nothing.
#
#   cmake -DNM=<nm> -DOBJECTS=<object files> -P check_compiled.cmake

set(holder "nabla::detail::LayerHolder<nabla::Dense<float, -1, -1, nabla::AnyActivation> >")

# check(<what> <prefix>...): in `lines`, some symbol that starts with a prefix is referenced and
# none is defined. A symbol is what nm -C prints after the type letter; a function template's
# starts with its return type, so a std:: helper returning a pointer to the holder does not count.
function(check what)
    set(referenced OFF)
    foreach(line IN LISTS lines)
        if(NOT line MATCHES "^[0-9a-f]* *([A-Za-z]) (.*)$")
            continue()
        endif()
        set(kind "${CMAKE_MATCH_1}")
        set(symbol "${CMAKE_MATCH_2}")
        foreach(prefix IN LISTS ARGN)
            string(FIND "${symbol}" "${prefix}" at)
            if(NOT at EQUAL 0)
                continue()
            endif()
            if(kind STREQUAL "U")
                set(referenced ON)
            elseif(symbol MATCHES "::~[A-Za-z]+\\(\\)$")
                # An implicit destructor is inline, which an extern template does not cover:
                # clang at -O0 emits it where it is used.
            else()
                message(FATAL_ERROR "${object} defines what nabla::compiled holds:\n${line}")
            endif()
        endforeach()
    endforeach()
    if(NOT referenced)
        message(FATAL_ERROR "${object} does not reference ${what}: the probe no longer calls "
                            "what the check is about")
    endif()
endfunction()

foreach(object IN LISTS OBJECTS)
    execute_process(COMMAND ${NM} -C ${object} OUTPUT_VARIABLE symbols RESULT_VARIABLE failed)
    if(failed)
        message(FATAL_ERROR "${NM} could not read ${object}")
    endif()
    # nm's lines as a list; brackets would group list items, so they are replaced first.
    string(REPLACE "[" "(" symbols "${symbols}")
    string(REPLACE "]" ")" symbols "${symbols}")
    string(REPLACE ";" "," symbols "${symbols}")
    string(REPLACE "\n" ";" lines "${symbols}")
    check("fit()" "nabla::History nabla::fit<")
    check("save()" "void nabla::save<")
    check("the Dense layer's holder" "${holder}::" "vtable for ${holder}")
endforeach()
message(STATUS "nothing nabla::compiled holds was instantiated")
