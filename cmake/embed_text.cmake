# Turns one text file into a C++ function returning its contents, so the binary carries it
# (e.g. a shell script that is checked by shellcheck as a file but run from memory).
# Invoked by CMake with -DINPUT=… -DOUTPUT=… -DHEADER=… -DNAMESPACE=… -DFUNCTION=….
file(READ "${INPUT}" content)
get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp" "// Generated from ${name}; do not edit.\n#include \"${HEADER}\"\n\nnamespace ${NAMESPACE} {\n\nconst std::string& ${FUNCTION}() {\n  static const std::string text = R\"gpupool_text(${content})gpupool_text\";\n  return text;\n}\n\n}  // namespace ${NAMESPACE}\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
