#include "baton/common/fd_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

namespace baton {
namespace {

// More than a pipe holds (64 KiB), read while it is written: every byte arrives, in order.
TEST(WriteAll, WritesEveryByteOfMoreThanThePipeHolds) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  std::string bytes(1 << 20, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 % 251);
  std::string read_back;
  std::thread reader([&] {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) read_back.append(buf, n);
  });
  EXPECT_TRUE(WriteAll(fds[1], bytes));
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  EXPECT_EQ(read_back, bytes);
}

TEST(WriteAll, ReportsAFailedWriteWithErrno) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ::close(fds[1]);
  errno = 0;
  EXPECT_FALSE(WriteAll(fds[0], "x"));  // the read end cannot be written
  EXPECT_EQ(errno, EBADF);
  ::close(fds[0]);
}

TEST(WriteAll, NothingToWriteIsDone) { EXPECT_TRUE(WriteAll(-1, "")); }

}  // namespace
}  // namespace baton
