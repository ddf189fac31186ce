// libFuzzer target: arbitrary bytes through the pipeline and task loaders, with vars set so
// interpolation runs too. Any crash, sanitizer report or hang is a loader bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "baton/pipelines/loader.h"

namespace {

const baton::pipelines::Vars& FuzzVars() {
  static const baton::pipelines::Vars vars = [] {
    baton::pipelines::Vars v;
    v.Set("hash", "abc123");
    v.Set("pipeline_name", "fuzzed");
    v.Set("team_name", "main");
    v.Set("list", baton::Json::array({1, "two", 3.5}));
    v.Set("map", baton::Json{{"a", "b"}, {"n", 1}});
    v.Set("deep.nested.field", "x");
    return v;
  }();
  return vars;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  baton::pipelines::LoadOptions options;
  options.file_name = "fuzz.yml";
  options.vars = &FuzzVars();
  (void)baton::pipelines::LoadPipeline(text, options);
  options.strict = true;
  options.check_vars = true;
  (void)baton::pipelines::LoadTaskConfig(text, options);
  return 0;
}
