// A follower of a build's event stream for bench_server's W4: counts the task's stdout lines
// and notes when the stream ended (Unix ms). `raw` counts them in the body's bytes without
// parsing SSE (each W4 line starts "line "), to tell the server's lag from the followers' own
// CPU. A log event holds one line or a run of lines joined by "\n" (escaped in its JSON).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "baton/common/status.h"
#include "baton/net/http_client.h"
#include "proc_stats.h"

namespace baton::bench {

inline void FollowBuildEvents(const std::string& url, const std::string& token, bool raw,
                              std::atomic<long>* lines, std::atomic<int64_t>* done_ms) {
  static constexpr std::string_view kStdout = "\"stream\":\"stdout\"";  // in a stdout log event
  static constexpr std::string_view kMark = "line ";  // at the start of each of W4's lines
  net::ClientOptions options;
  net::HttpClient client(options);
  net::Headers h;
  h.Set("Authorization", "Bearer " + token);
  long n = 0;
  Status s;
  if (raw) {
    // A mark split between two pieces is found in `carry` (the previous piece's last bytes,
    // shorter than the mark) joined to the start of the next; no byte is copied otherwise.
    std::string carry;
    net::Download download;
    download.on_body = [&](std::string_view piece) {
      std::string seam = carry;
      seam.append(piece.substr(0, kMark.size() - 1));
      for (size_t at = seam.find(kMark); at != std::string::npos; at = seam.find(kMark, at + 1))
        ++n;
      for (size_t at = piece.find(kMark); at != std::string::npos; at = piece.find(kMark, at + 1))
        ++n;
      if (piece.size() >= kMark.size() - 1) {
        carry.assign(piece.substr(piece.size() - (kMark.size() - 1)));
      } else {
        carry = seam.substr(seam.size() - std::min(seam.size(), kMark.size() - 1));
      }
      return Status::Ok();
    };
    auto r = client.SendDownload("GET", url, h, download);
    if (!r.ok()) s = r.status();
  } else {
    s = client.StreamEvents(url, h, [&](const net::SseEvent& e) {
      if (e.event != "log" || e.data.find(kStdout) == std::string::npos) return true;
      ++n;  // and one more line after each escaped newline
      for (size_t at = e.data.find("\\n"); at != std::string::npos; at = e.data.find("\\n", at + 2))
        ++n;
      return true;
    });
  }
  if (!s.ok()) std::fprintf(stderr, "follower: %s\n", s.ToString().c_str());
  *lines = n;
  *done_ms = NowMs();
}

}  // namespace baton::bench
