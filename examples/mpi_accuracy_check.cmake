# ctest script: the Fashion-MNIST demo trained by one process and by two (mpirun -np 2 ... --mpi)
# on the same slice, with the same seed and global batch; the two test accuracies must be within
# 0.5 points. Both must exit 0.
#   cmake -DPROGRAM=<fashion_mnist> "-DMPIRUN=mpirun;--oversubscribe;-np;2" -DOUT=<dir>
#         -P mpi_accuracy_check.cmake
set(args --epochs 2 --train 12000 --validation 2000 --min-accuracy 0.75)
execute_process(COMMAND ${PROGRAM} ${args} --out ${OUT}/one
                RESULT_VARIABLE status OUTPUT_VARIABLE one ERROR_VARIABLE err)
if(NOT status EQUAL 0)
    message(FATAL_ERROR "one process: status ${status}\n${one}${err}")
endif()
execute_process(COMMAND ${MPIRUN} ${PROGRAM} ${args} --out ${OUT}/two --mpi
                RESULT_VARIABLE status OUTPUT_VARIABLE two ERROR_VARIABLE err)
if(NOT status EQUAL 0)
    message(FATAL_ERROR "two processes: status ${status}\n${two}${err}")
endif()
foreach(run one two)
    string(REGEX MATCH "test accuracy: ([0-9.]+)%" found "${${run}}")
    if(NOT found)
        message(FATAL_ERROR "no test accuracy in the output of ${run}:\n${${run}}")
    endif()
    set(accuracy_${run} ${CMAKE_MATCH_1})
    string(REGEX MATCH "trained [0-9]+ epochs in ([0-9.]+) s" found "${${run}}")
    set(seconds_${run} ${CMAKE_MATCH_1})
endforeach()
message(STATUS "test accuracy: ${accuracy_one}% alone (${seconds_one} s), "
               "${accuracy_two}% on 2 processes (${seconds_two} s)")
# math() has no decimals: compare hundredths of a point.
string(REPLACE "." "" one_hundredths "${accuracy_one}")
string(REPLACE "." "" two_hundredths "${accuracy_two}")
math(EXPR gap "${one_hundredths} - ${two_hundredths}")
if(gap GREATER 50 OR gap LESS -50)
    message(FATAL_ERROR "the accuracies differ by more than 0.5 points: ${accuracy_one}% and "
                        "${accuracy_two}%")
endif()
