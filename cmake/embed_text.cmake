# Turns one text file into a C++ function returning its contents, so the binary carries it
# (e.g. a shell script that is checked by shellcheck as a file but run from memory).
# Invoked by CMake with -DINPUT=… -DOUTPUT=… -DHEADER=… -DNAMESPACE=… -DFUNCTION=….
#
# A line "#@include FILE" (FILE relative to the input's folder) becomes FILE's text: one
# source for what several scripts write (the sessions' sshd policy, say).
file(READ "${INPUT}" content)
get_filename_component(folder "${INPUT}" DIRECTORY)
# (The line must start with it: a mention in a comment is left alone.)
string(REGEX MATCHALL "\n#@include [^\n]+\n" includes "${content}")
foreach(line IN LISTS includes)
  string(REGEX REPLACE "\n#@include ([^\n]+)\n" "\\1" included "${line}")
  file(READ "${folder}/${included}" text)
  string(REPLACE "${line}" "\n${text}" content "${content}")
endforeach()
get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp" "// Generated from ${name}; do not edit.\n#include \"${HEADER}\"\n\nnamespace ${NAMESPACE} {\n\nconst std::string& ${FUNCTION}() {\n  static const std::string text = R\"gpupool_text(${content})gpupool_text\";\n  return text;\n}\n\n}  // namespace ${NAMESPACE}\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
