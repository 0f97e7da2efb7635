# gpupool_embed_text(<sources var> <script> <header> <namespace> <function> [<included>...]):
# a build rule that compiles <script> (a file of this folder, checked as a file by its linter)
# into the C++ function <namespace>::<function>() declared in <header>, via embed_text.cmake;
# appends the generated source to <sources var>. <included>: the files its "#@include" lines
# name (relative to this folder), so that a change to one rebuilds it.
function(gpupool_embed_text sources input header namespace function)
  set(included)
  foreach(file IN LISTS ARGN)
    list(APPEND included ${CMAKE_CURRENT_SOURCE_DIR}/${file})
  endforeach()
  get_filename_component(name ${input} NAME_WE)
  set(output ${CMAKE_CURRENT_BINARY_DIR}/${name}_embedded.cpp)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${CMAKE_CURRENT_SOURCE_DIR}/${input} -DOUTPUT=${output}
            -DHEADER=${header} -DNAMESPACE=${namespace} -DFUNCTION=${function}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_text.cmake
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${input} ${included} ${PROJECT_SOURCE_DIR}/cmake/embed_text.cmake
    COMMENT "Embedding ${input}")
  set(${sources} ${${sources}} ${output} PARENT_SCOPE)
endfunction()
