# Turns migrations/NNNN_*.sql into a C++ table, so the binary carries its own schema history.
# A migration SQLite and PostgreSQL cannot share has a NNNN_*.postgres.sql beside it.
# Invoked by CMake with -DSOURCE_DIR=… -DOUTPUT=….
file(GLOB files "${SOURCE_DIR}/[0-9][0-9][0-9][0-9]_*.sql")
list(FILTER files EXCLUDE REGEX "\\.postgres\\.sql$")
list(SORT files)
set(body "")
foreach(file IN LISTS files)
  get_filename_component(name "${file}" NAME)
  string(SUBSTRING "${name}" 0 4 version)
  math(EXPR version "${version}")
  file(READ "${file}" sql)
  string(REGEX REPLACE "\\.sql$" ".postgres.sql" postgres_file "${file}")
  set(postgres_sql "")
  if(EXISTS "${postgres_file}")
    file(READ "${postgres_file}" postgres_sql)
  endif()
  string(APPEND body "    {${version}, \"${name}\", R\"gpupool_sql(${sql})gpupool_sql\",\n"
                     "     R\"gpupool_sql(${postgres_sql})gpupool_sql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from src/store/migrations/*.sql; do not edit.\n#include \"store/migrations/migrations.hpp\"\n\nnamespace gpupool::migrations {\n\nconst std::vector<Migration>& all() {\n  static const std::vector<Migration> list{\n${body}  };\n  return list;\n}\n\n}  // namespace gpupool::migrations\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
