# ctest script: the deployment example of docs/deployment.md end to end. train_csv trains on
# data/blobs_train.csv and saves the model with its Standardizer; classify_csv, a separate
# program, loads it and classifies the raw rows of data/blobs_new.csv. Its classes must match
# data/blobs_new_labels.txt on at least 85 of the 90 rows (the data are three well-separated
# classes once scaled; without the scaling it would be about a third).
#   cmake -DTRAIN=<train_csv> -DCLASSIFY=<classify_csv> -DDATA=<examples/data> -DOUT=<dir>
#         -P deployment_check.cmake
file(MAKE_DIRECTORY ${OUT})
execute_process(COMMAND ${TRAIN} ${DATA}/blobs_train.csv ${OUT}/blobs.nbl
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0)
    message(FATAL_ERROR "train_csv failed with status ${status}:\n${out}${err}")
endif()
message(STATUS "${out}")
execute_process(COMMAND ${CLASSIFY} ${OUT}/blobs.nbl ${DATA}/blobs_new.csv
                RESULT_VARIABLE status OUTPUT_VARIABLE classes ERROR_VARIABLE err)
if(NOT status EQUAL 0)
    message(FATAL_ERROR "classify_csv failed with status ${status}:\n${classes}${err}")
endif()
file(STRINGS ${DATA}/blobs_new_labels.txt expected)
string(REGEX REPLACE "\n$" "" classes "${classes}")
string(REPLACE "\n" ";" predicted "${classes}")
list(LENGTH expected rows)
list(LENGTH predicted got)
if(NOT got EQUAL rows)
    message(FATAL_ERROR "classify_csv printed ${got} classes for ${rows} rows:\n${classes}")
endif()
set(hits 0)
math(EXPR last "${rows} - 1")
foreach(i RANGE ${last})
    list(GET expected ${i} want)
    list(GET predicted ${i} have)
    if(want STREQUAL have)
        math(EXPR hits "${hits} + 1")
    endif()
endforeach()
message(STATUS "classify_csv: ${hits} of ${rows} rows in their class")
if(hits LESS 85)
    message(FATAL_ERROR "classify_csv put only ${hits} of ${rows} rows in their class")
endif()

# Without its model the program must say which file and why, and exit 1.
execute_process(COMMAND ${CLASSIFY} ${OUT}/no_such_model.nbl ${DATA}/blobs_new.csv
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(FIND "${err}" "no_such_model.nbl" at)
if(NOT status EQUAL 1 OR at EQUAL -1)
    message(FATAL_ERROR "a missing model: expected status 1 and the file named, got "
                        "${status}:\n${err}")
endif()
