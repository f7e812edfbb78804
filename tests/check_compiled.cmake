# Checks that a file compiled against nabla::compiled instantiated none of what the library
# holds: its object file must reference fit(), save() and the Dense layer's holder (nm: U) and
# define none of them (nm: T, W and the like). Run by the ctest compiled_probe_instantiates_nothing.
#
#   cmake -DNM=<nm> -DOBJECTS=<object files> -P check_compiled.cmake
foreach(object IN LISTS OBJECTS)
    execute_process(COMMAND ${NM} -C ${object} OUTPUT_VARIABLE symbols RESULT_VARIABLE failed)
    if(failed)
        message(FATAL_ERROR "${NM} could not read ${object}")
    endif()
    string(REPLACE "\n" ";" lines "${symbols}")
    foreach(name IN ITEMS "nabla::History nabla::fit<" "void nabla::save<"
                          "nabla::detail::LayerHolder<nabla::Dense<float")
        set(referenced OFF)
        foreach(line IN LISTS lines)
            string(FIND "${line}" "${name}" at)
            if(at EQUAL -1)
                continue()
            endif()
            if(line MATCHES "^ +U ")
                set(referenced ON)
            else()
                message(FATAL_ERROR "${object} defines what nabla::compiled holds:\n${line}")
            endif()
        endforeach()
        if(NOT referenced)
            message(FATAL_ERROR "${object} does not reference ${name}...: the probe no longer "
                                "calls what the check is about")
        endif()
    endforeach()
endforeach()
message(STATUS "nothing nabla::compiled holds was instantiated")
