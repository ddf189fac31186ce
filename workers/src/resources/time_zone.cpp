#include "resources/time_zone.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

int64_t ReadBigEndian(const std::string& data, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(data[pos + i]);
  if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

struct TzifHeader {
  int64_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
  size_t DataSize(int time_bytes) const {
    return static_cast<size_t>(timecnt * time_bytes + timecnt + typecnt * 6 + charcnt +
                               leapcnt * (time_bytes + 4) + isstdcnt + isutcnt);
  }
};

bool ReadHeader(const std::string& data, size_t pos, TzifHeader* h) {
  if (data.size() < pos + 44 || data.compare(pos, 4, "TZif") != 0) return false;
  int64_t* fields[] = {&h->isutcnt, &h->isstdcnt, &h->leapcnt,
                       &h->timecnt, &h->typecnt,  &h->charcnt};
  for (int i = 0; i < 6; ++i) *fields[i] = ReadBigEndian(data, pos + 20 + 4 * i, 4);
  return h->typecnt > 0;
}

bool ValidName(const std::string& name) {
  if (name.empty() || name[0] == '/' || name.find("..") != std::string::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
           c == '+';
  });
}

}  // namespace

TimeZone TimeZone::Utc() {
  TimeZone tz;
  tz.name_ = "UTC";
  return tz;
}

Result<TimeZone> TimeZone::Load(const std::string& name) {
  if (name.empty() || name == "UTC" || name == "Etc/UTC") return Utc();
  if (!ValidName(name)) {
    return InvalidArgument("unknown time zone '" + name + "': use an IANA name like Europe/Berlin");
  }
  const char* dir = std::getenv("TZDIR");
  std::filesystem::path path =
      std::filesystem::path(dir && *dir ? dir : "/usr/share/zoneinfo") / name;
  auto data = ReadFile(path);
  TzifHeader h{};
  if (!data.ok() || !ReadHeader(*data, 0, &h)) {
    return NotFound("unknown time zone '" + name +
                    "': use an IANA name like America/New_York (is the tzdata package installed?)");
  }
  size_t pos = 0;
  int time_bytes = 4;
  if ((*data)[4] >= '2') {  // skip the 32-bit block, use the 64-bit one
    pos = 44 + h.DataSize(4);
    if (!ReadHeader(*data, pos, &h)) return Internal("corrupt time zone file " + path.string());
    time_bytes = 8;
  }
  pos += 44;
  if (data->size() < pos + h.DataSize(time_bytes)) {
    return Internal("truncated time zone file " + path.string());
  }
  TimeZone tz;
  tz.name_ = name;
  size_t idx_pos = pos + h.timecnt * time_bytes;
  size_t type_pos = idx_pos + h.timecnt;
  auto type_offset = [&](int i) {
    return static_cast<int>(ReadBigEndian(*data, type_pos + 6 * i, 4));
  };
  for (int64_t i = 0; i < h.timecnt; ++i) {
    int type = static_cast<unsigned char>((*data)[idx_pos + i]);
    if (type >= h.typecnt) return Internal("corrupt time zone file " + path.string());
    tz.transitions_.push_back(ReadBigEndian(*data, pos + i * time_bytes, time_bytes));
    tz.offsets_.push_back(type_offset(type));
  }
  tz.initial_offset_ = type_offset(0);
  return tz;
}

int TimeZone::OffsetAt(int64_t t) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  if (it == transitions_.begin()) return initial_offset_;
  return offsets_[static_cast<size_t>(it - transitions_.begin()) - 1];
}

int64_t TimeZone::FromLocal(int64_t local) const {
  // Try the offsets in effect around the instant; keep the one that reproduces `local`.
  int64_t guess = local - OffsetAt(local);
  int64_t candidates[] = {local - OffsetAt(guess - 86400), local - OffsetAt(guess),
                          local - OffsetAt(guess + 86400)};
  for (int64_t c : candidates) {
    if (c + OffsetAt(c) == local) return c;
  }
  return guess;  // in a gap: the wall time does not exist; move by the earlier offset
}

}  // namespace baton::workers::resources
