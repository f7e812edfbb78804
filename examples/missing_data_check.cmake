# ctest script: the Fashion-MNIST demo, pointed at a directory that does not exist, must exit
# with status 2 and print the command that installs the data.
#   cmake -DPROGRAM=<fashion_mnist> -DDATA=<missing dir> -P missing_data_check.cmake
execute_process(COMMAND ${PROGRAM} --data ${DATA}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 2)
    message(FATAL_ERROR "expected exit status 2, got '${status}'\n${out}${err}")
endif()
string(FIND "${err}" "sudo apt-get install -y dataset-fashion-mnist" at)
if(at EQUAL -1)
    message(FATAL_ERROR "the message does not say what to install:\n${err}")
endif()
string(FIND "${err}" "${DATA}" at)
if(at EQUAL -1)
    message(FATAL_ERROR "the message does not name the directory ${DATA}:\n${err}")
endif()
