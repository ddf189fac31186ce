// A follower of a build's event stream for bench_server's W4: counts the task's stdout lines
// and notes when the stream ended (Unix ms). `raw` counts them in the body's bytes without
// parsing SSE, to tell the server's lag from the followers' own CPU.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "baton/common/status.h"
#include "baton/net/http_client.h"

namespace baton::bench {

// Follows build `id` to its end; counts log lines and notes when the stream ended (Unix ms).
// `raw`: no SSE parsing, the stdout log events are counted in the body's bytes as they come.
inline void FollowBuildEvents(const std::string& url, const std::string& token, bool raw,
                              std::atomic<long>* lines, std::atomic<int64_t>* done_ms) {
  net::ClientOptions options;
  net::HttpClient client(options);
  net::Headers h;
  h.Set("Authorization", "Bearer " + token);
  long n = 0;
  baton::Status s;
  if (raw) {
    static constexpr std::string_view kMark = "\"stream\":\"stdout\"";
    // The last bytes of the previous piece go in front of the next (shorter than the mark, so
    // no mark is counted twice and none split between two pieces is missed).
    std::string carry, joined;
    net::Download download;
    download.on_body = [&](std::string_view piece) {
      joined.assign(carry).append(piece);
      for (size_t at = joined.find(kMark); at != std::string::npos;
           at = joined.find(kMark, at + 1)) {
        ++n;
      }
      carry = joined.substr(joined.size() - std::min(joined.size(), kMark.size() - 1));
      return baton::Status::Ok();
    };
    auto r = client.SendDownload("GET", url, h, download);
    if (!r.ok()) s = r.status();
  } else {
    s = client.StreamEvents(url, h, [&](const net::SseEvent& e) {
      if (e.event == "log" && e.data.find("\"stream\":\"stdout\"") != std::string::npos) ++n;
      return true;
    });
  }
  if (!s.ok()) std::fprintf(stderr, "follower: %s\n", s.ToString().c_str());
  *lines = n;
  *done_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
}

}  // namespace baton::bench
