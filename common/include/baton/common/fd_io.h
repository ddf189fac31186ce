// Whole writes to an open file descriptor. Thread-safe (system calls only).
#pragma once

#include <string_view>

namespace baton {

// Writes all of `bytes` to `fd`, going on after a short write or an interrupted one. False with
// errno set when it cannot (EIO if write(2) wrote nothing without saying why).
bool WriteAll(int fd, std::string_view bytes);

}  // namespace baton
