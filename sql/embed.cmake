# Writes OUT: a C++ table of the SQL migration files in FILES ("|"-separated, sorted), so no
# run-time path is needed.
string(REPLACE "|" ";" FILES "${FILES}")
set(body "// Generated from sql/*.sql by sql/embed.cmake. Do not edit.\n#include \"lib/db/migrations.h\"\nnamespace kod::db {\nconst std::vector<Migration>& Migrations() {\n  static const std::vector<Migration> all = {\n")
foreach(f ${FILES})
  get_filename_component(name ${f} NAME_WE)
  string(REGEX MATCH "^[0-9]+" version ${name})
  file(READ ${f} text)
  set(body "${body}    {${version}, \"${name}\", R\"kodsql(${text})kodsql\"},\n")
endforeach()
set(body "${body}  };\n  return all;\n}\n}  // namespace kod::db\n")
file(WRITE ${OUT} "${body}")
