// The API reads the time through ApiOptions::clock (the Clock seam), not the real clock.
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "baton/runner/sqlite_store.h"
#include "baton/webapi/api.h"
#include "fakes/fake_clock.h"
#include "fakes/scripted_worker.h"
#include "fakes/test_env.h"

namespace baton::webapi {
namespace {

TEST(ApiClock, ATokenExpiresByTheClockTheApiWasGiven) {
  baton::testing::TempDir dir;
  baton::testing::FakeClock clock;  // 2024: an hour past it is long gone by the real clock
  auto store = runner::SqliteStore::OpenDataDir(dir.path() / "data", clock);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  baton::testing::ScriptedWorker worker;
  boost::asio::io_context io;
  runner::SchedulerOptions scheduler_options;
  scheduler_options.data_dir = (dir.path() / "data").string();
  scheduler_options.clock = &clock;
  runner::Scheduler scheduler(io, {**store, **store, **store}, worker, scheduler_options);
  ApiOptions options;
  options.clock = &clock;
  Router router = MakeApiRouter(io, **store, scheduler, options);
  auto token = (*store)->CreateApiToken("main", "ci", "t0ken-of-the-clock-test",
                                        clock.Now() + std::chrono::hours(1));
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto list_workers = [&] {
    Request req;
    req.method = "GET";
    req.target = req.path = "/api/v1/workers";
    req.headers.Set("Authorization", "Bearer t0ken-of-the-clock-test");
    return router.Dispatch(req).status;
  };
  EXPECT_EQ(list_workers(), 200) << "the token is valid for another hour by the API's clock";
  clock.Advance(std::chrono::hours(2));
  EXPECT_EQ(list_workers(), 401) << "the token expired an hour ago by the API's clock";
}

}  // namespace
}  // namespace baton::webapi
