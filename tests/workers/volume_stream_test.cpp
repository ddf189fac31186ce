// Volume streams against real directories: what PackVolume makes, UnpackVolume restores; hostile
// streams (built here as plain ustar, byte by byte) are refused naming the entry, and nothing
// lands outside the volume.
#include "baton/workers/volume_stream.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "fakes/test_env.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

// One ustar header block (+ data, padded) for `name` of `type` ('0' file, '2' symlink, '1' hard
// link, '3' char device, '5' directory, '6' FIFO).
std::string TarEntry(const std::string& name, char type, const std::string& data = "",
                     const std::string& link = "", int mode = 0644) {
  char h[512] = {};
  std::snprintf(h, 100, "%s", name.c_str());
  std::snprintf(h + 100, 8, "%07o", mode);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011o", static_cast<unsigned>(data.size()));
  std::snprintf(h + 136, 12, "%011o", 0);
  h[156] = type;
  std::snprintf(h + 157, 100, "%s", link.c_str());
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  std::string out(h, sizeof h);
  out += data;
  out.append((512 - data.size() % 512) % 512, '\0');
  return out;
}
std::string Tar(const std::vector<std::string>& entries) {
  std::string out;
  for (const auto& e : entries) out += e;
  return out + std::string(1024, '\0');
}

std::string Pack(const fs::path& dir, VolumeCompression compression = VolumeCompression::kZstd) {
  std::string stream;
  Status s = PackVolume(
      dir,
      [&](std::string_view chunk) {
        stream.append(chunk);
        return Status::Ok();
      },
      compression);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return stream;
}

mode_t ModeOf(const fs::path& p) {
  struct stat st {};
  ::lstat(p.c_str(), &st);
  return st.st_mode & 07777;
}

class VolumeStream : public ::testing::Test {
 protected:
  void MakeVolume() {
    WriteFile(src_ / "a.txt", "hello\n");
    WriteFile(src_ / "empty", "");
    WriteFile(src_ / "sub/deep/run.sh", "#!/bin/sh\necho hi\n");
    ::chmod((src_ / "sub/deep/run.sh").c_str(), 0750);
    fs::create_directories(src_ / "empty-dir");
    std::string big(3 * 1024 * 1024 + 17, '\0');
    std::mt19937 rng(42);
    for (char& c : big) c = static_cast<char>(rng());
    WriteFile(src_ / "sub/big.bin", big);
    fs::create_symlink("sub/deep/run.sh", src_ / "link");
    fs::create_symlink("../a.txt", src_ / "sub/up-link");
  }
  void ExpectSameTree(const fs::path& out) {
    EXPECT_EQ(ReadFile(out / "a.txt"), "hello\n");
    EXPECT_EQ(ReadFile(out / "empty"), "");
    EXPECT_EQ(ReadFile(out / "sub/big.bin"), ReadFile(src_ / "sub/big.bin"));
    EXPECT_EQ(ModeOf(out / "sub/deep/run.sh"), 0750u);
    EXPECT_TRUE(fs::is_directory(out / "empty-dir"));
    EXPECT_EQ(fs::read_symlink(out / "link"), "sub/deep/run.sh");
    EXPECT_EQ(fs::read_symlink(out / "sub/up-link"), "../a.txt");
  }
  // Unpacks `stream` into a fresh volume inside `outer_`, expecting a refusal mentioning
  // `needle`, and nothing written beside the volume.
  void ExpectRefused(const std::string& stream, const std::string& needle) {
    fs::path volume = outer_.path() / "volume";
    fs::remove_all(volume);
    Status s = UnpackVolume(stream, volume);
    ASSERT_FALSE(s.ok()) << "accepted a stream that should mention " << needle;
    EXPECT_NE(s.ToString().find(needle), std::string::npos) << s.ToString();
    for (const auto& e : fs::directory_iterator(outer_.path())) {
      EXPECT_EQ(e.path().filename(), "volume") << "written outside the volume: " << e.path();
    }
  }

  TempDir src_;
  TempDir dst_;
  TempDir outer_;
};

TEST_F(VolumeStream, AZstdStreamRestoresFilesModesDirectoriesAndLinks) {
  MakeVolume();
  std::string stream = Pack(src_.path());
  EXPECT_LT(stream.size(), 3u * 1024 * 1024 + 64 * 1024) << "random data does not grow much";
  ASSERT_EQ(stream.substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4)) << "zstd magic";
  Status s = UnpackVolume(stream, dst_ / "out");
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectSameTree(dst_ / "out");
}

TEST_F(VolumeStream, AGzipStreamReadInChunksRestoresTheSameTree) {
  MakeVolume();
  std::string stream = Pack(src_.path(), VolumeCompression::kGzip);
  ASSERT_EQ(stream.substr(0, 2), "\x1f\x8b");
  size_t at = 0;
  VolumeSource read = [&]() -> Result<std::string_view> {
    size_t n = std::min<size_t>(1000, stream.size() - at);
    std::string_view chunk(stream.data() + at, n);
    at += n;
    return chunk;
  };
  Status s = UnpackVolume(read, dst_ / "out");
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectSameTree(dst_ / "out");
}

TEST_F(VolumeStream, SetuidBitsDoNotTravel) {
  WriteFile(src_ / "tool", "x");
  ::chmod((src_ / "tool").c_str(), 04755);
  ASSERT_TRUE(UnpackVolume(Pack(src_.path()), dst_ / "out").ok());
  EXPECT_EQ(ModeOf(dst_ / "out/tool"), 0755u);
}

TEST_F(VolumeStream, PathTraversalAndAbsolutePathsAreRefused) {
  ExpectRefused(Tar({TarEntry("../evil", '0', "x")}), "'../evil' has a '..' component");
  ExpectRefused(Tar({TarEntry("a/../../evil", '0', "x")}), "'..' component");
  ExpectRefused(Tar({TarEntry("/tmp/evil", '0', "x")}), "absolute path");
}

TEST_F(VolumeStream, LinksOutOfTheVolumeAreRefused) {
  ExpectRefused(Tar({TarEntry("l", '2', "", "/etc/passwd")}), "'l' is a link to the absolute");
  ExpectRefused(Tar({TarEntry("sub/l", '2', "", "../../x")}), "outside the volume");
  ExpectRefused(Tar({TarEntry("h", '1', "", "../outside")}), "'..' component");
}

TEST_F(VolumeStream, DevicesAndFifosAreRefused) {
  ExpectRefused(Tar({TarEntry("null", '3')}), "'null' is a device, FIFO or socket");
  ExpectRefused(Tar({TarEntry("pipe", '6')}), "'pipe' is a device, FIFO or socket");
}

TEST_F(VolumeStream, ALinkAlreadyInTheDirectoryDoesNotLeadAnEntryOutside) {
  fs::path volume = outer_.path() / "volume";
  fs::create_directories(volume);
  fs::create_directories(outer_.path() / "volume-outside");
  fs::create_symlink(outer_.path() / "volume-outside", volume / "escape");
  Status s = UnpackVolume(Tar({TarEntry("escape/evil", '0', "x")}), volume);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("lies behind a link out of it"), std::string::npos) << s.ToString();
  EXPECT_FALSE(fs::exists(outer_.path() / "volume-outside/evil"));
}

TEST_F(VolumeStream, APlainTarOfGoodEntriesUnpacks) {
  Status s = UnpackVolume(Tar({TarEntry("d", '5'), TarEntry("d/f", '0', "data"),
                               TarEntry("d/h", '1', "", "d/f"), TarEntry("d/l", '2', "", "f")}),
                          dst_ / "out");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadFile(dst_ / "out/d/h"), "data");
  EXPECT_EQ(ReadFile(dst_ / "out/d/l"), "data");
}

TEST_F(VolumeStream, BytesThatAreNoVolumeStreamAreRefused) {
  Status s = UnpackVolume(std::string(4096, 'z'), dst_ / "out");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("volume stream"), std::string::npos) << s.ToString();
}

TEST_F(VolumeStream, PackingAFifoIsRefusedNamingIt) {
  ASSERT_EQ(::mkfifo((src_ / "pipe").c_str(), 0644), 0);
  std::string stream;
  Status s = PackVolume(src_.path(), [&](std::string_view chunk) {
    stream.append(chunk);
    return Status::Ok();
  });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("volume entry pipe is a device, FIFO or socket"), std::string::npos)
      << s.ToString();
}

}  // namespace
}  // namespace baton::workers

namespace baton::workers {
namespace {

std::string DigestOf(const std::filesystem::path& dir) {
  auto digest = VolumeDigest(dir);
  EXPECT_TRUE(digest.ok()) << digest.status().ToString();
  return digest.ok() ? *digest : "";
}

TEST_F(VolumeStream, AnUnpackedVolumeHasItsSourcesDigestAndAnyChangeChangesIt) {
  MakeVolume();
  std::string before = DigestOf(src_.path());
  ASSERT_EQ(before.rfind("sha256:", 0), 0u) << before;
  ASSERT_TRUE(UnpackVolume(Pack(src_.path()), dst_ / "out").ok());
  EXPECT_EQ(DigestOf(dst_ / "out"), before) << "what a worker unpacks is what it was sent";

  WriteFile(dst_ / "out" / "a.txt", "hellO\n");  // same size, one byte
  std::string edited = DigestOf(dst_ / "out");
  EXPECT_NE(edited, before);
  WriteFile(dst_ / "out" / "a.txt", "hello\n");
  EXPECT_EQ(DigestOf(dst_ / "out"), before);
  ::chmod((dst_ / "out" / "a.txt").c_str(), 0755);
  EXPECT_NE(DigestOf(dst_ / "out"), before) << "the execute bit travels, so it counts";
  ::chmod((dst_ / "out" / "a.txt").c_str(), 0644);
  fs::remove(dst_ / "out" / "link");
  fs::create_symlink("a.txt", dst_ / "out" / "link");
  EXPECT_NE(DigestOf(dst_ / "out"), before) << "a link's target counts";
  fs::remove(dst_ / "out" / "link");
  fs::create_symlink("sub/deep/run.sh", dst_ / "out" / "link");
  fs::create_directories(dst_ / "out" / "new-dir");
  EXPECT_NE(DigestOf(dst_ / "out"), before) << "an added empty directory counts";
  fs::remove(dst_ / "out" / "new-dir");
  EXPECT_EQ(DigestOf(dst_ / "out"), before);
}

TEST_F(VolumeStream, AMissingDirectoryDigestsAsAnEmptyOne) {
  fs::create_directories(dst_ / "empty");
  EXPECT_EQ(DigestOf(dst_ / "missing"), DigestOf(dst_ / "empty"));
}

}  // namespace
}  // namespace baton::workers
