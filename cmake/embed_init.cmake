# cmake -DINPUT=<program> -DOUTPUT=<file.cpp> -P embed_init.cmake: the program's bytes as
# baton::workers::sandbox::kInitImage (see src/sandbox/init_image.h).
file(READ ${INPUT} hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
file(WRITE ${OUTPUT}
  "// Generated from ${INPUT} by embed_init.cmake. Do not edit.\n"
  "#include <cstddef>\n"
  "namespace baton::workers::sandbox {\n"
  "extern const unsigned char kInitImage[] = {\n${bytes}\n};\n"
  "extern const std::size_t kInitImageSize = ${size};\n"
  "}  // namespace baton::workers::sandbox\n")
