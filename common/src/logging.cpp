#include "baton/common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace baton {

std::shared_ptr<spdlog::logger> ModuleLogger(const std::string& module) {
  if (auto existing = spdlog::get(module)) return existing;
  try {
    auto logger = spdlog::stderr_color_mt(module);
    logger->set_level(spdlog::get_level());
    return logger;
  } catch (const spdlog::spdlog_ex&) {
    return spdlog::get(module);  // created concurrently by another thread
  }
}

bool SetLogLevel(const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") return false;
  spdlog::set_level(lvl);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(lvl); });
  return true;
}

}  // namespace baton
