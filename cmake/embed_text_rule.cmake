# gpupool_embed_text(<sources var> <script> <header> <namespace> <function>): a build rule that
# compiles <script> (a file of this folder, checked as a file by its linter) into the C++
# function <namespace>::<function>() declared in <header>, via embed_text.cmake; appends the
# generated source to <sources var>.
function(gpupool_embed_text sources input header namespace function)
  get_filename_component(name ${input} NAME_WE)
  set(output ${CMAKE_CURRENT_BINARY_DIR}/${name}_embedded.cpp)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${CMAKE_CURRENT_SOURCE_DIR}/${input} -DOUTPUT=${output}
            -DHEADER=${header} -DNAMESPACE=${namespace} -DFUNCTION=${function}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_text.cmake
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${input} ${PROJECT_SOURCE_DIR}/cmake/embed_text.cmake
    COMMENT "Embedding ${input}")
  set(${sources} ${${sources}} ${output} PARENT_SCOPE)
endfunction()
