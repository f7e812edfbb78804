# ctest script: an MPI run that must fail fast. Runs COMMAND (a ;-list: mpirun and its
# arguments), and requires a non-zero exit status within SECONDS seconds and the text EXPECT in
# its output.
#   cmake "-DCOMMAND=mpirun;-np;2;mpi_fit;throw" -DEXPECT=<text> -DSECONDS=<n>
#         -P expect_failure.cmake
string(TIMESTAMP start "%s")
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE status OUTPUT_VARIABLE out
                ERROR_VARIABLE err TIMEOUT ${SECONDS})
string(TIMESTAMP end "%s")
math(EXPR took "${end} - ${start}")
if(status EQUAL 0 OR status MATCHES "timeout")
    message(FATAL_ERROR "expected a failure within ${SECONDS} s, got '${status}' after ${took} s:"
                        "\n${out}${err}")
endif()
string(FIND "${out}${err}" "${EXPECT}" at)
if(at EQUAL -1)
    message(FATAL_ERROR "the output does not say \"${EXPECT}\":\n${out}${err}")
endif()
message(STATUS "failed as expected with status ${status} after ${took} s")
