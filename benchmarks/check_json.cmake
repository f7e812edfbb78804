# cmake -DBENCH=<benchmark executable> -DARGS=<its arguments, ;-separated> -DOUT=<file.json>
#       -P check_json.cmake
#
# Runs the benchmark with --benchmark_format=json (stdout) and --benchmark_out=OUT, and fails
# unless both parse as JSON holding a non-empty "benchmarks" array whose train step entries carry
# items_per_second and the GFLOP counter: the shape scripts that read the suite rely on.
cmake_minimum_required(VERSION 3.19)  # string(JSON)

execute_process(COMMAND ${BENCH} ${ARGS} --benchmark_format=json --benchmark_out=${OUT}
                        --benchmark_out_format=json
                OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr RESULT_VARIABLE status)
if(NOT status EQUAL 0)
    message(FATAL_ERROR "${BENCH} exited with ${status}:\n${stderr}")
endif()
file(READ ${OUT} file_text)

function(check_report what text)
    string(JSON count ERROR_VARIABLE error LENGTH "${text}" benchmarks)
    if(error)
        message(FATAL_ERROR "${what} is not the JSON of a benchmark run: ${error}\n${text}")
    endif()
    if(count EQUAL 0)
        message(FATAL_ERROR "${what} holds no benchmarks")
    endif()
    set(train_steps 0)
    math(EXPR last "${count} - 1")
    foreach(i RANGE ${last})
        string(JSON name GET "${text}" benchmarks ${i} name)
        if(name MATCHES "/train_step/real_time$")
            math(EXPR train_steps "${train_steps} + 1")
            string(JSON samples GET "${text}" benchmarks ${i} items_per_second)
            string(JSON gflops GET "${text}" benchmarks ${i} GFLOP)
            if(NOT samples GREATER 0 OR NOT gflops GREATER 0)
                message(FATAL_ERROR "${what}: ${name} reports ${samples} samples/s and "
                                    "${gflops} GFLOP/s")
            endif()
        endif()
    endforeach()
    if(NOT train_steps EQUAL 1)
        message(FATAL_ERROR "${what}: ${train_steps} train_step entries, expected 1")
    endif()
    message(STATUS "${what}: ${count} benchmarks, JSON parses")
endfunction()

check_report("stdout" "${stdout}")
check_report("${OUT}" "${file_text}")
