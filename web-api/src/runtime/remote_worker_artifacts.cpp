// RemoteWorkers: `artifact` resources, which read and write the web node's artifact store, run
// here in the web node's process, on RemoteWorkers' pool.
#include <boost/asio/post.hpp>

#include "baton/workers/resource_type.h"
#include "runtime/remote_workers_impl.h"

namespace baton::webapi {

namespace asio = boost::asio;

void RemoteWorkers::Impl::RunArtifactHere(const workers::ResourceRun& run,
                                          std::shared_ptr<workers::OutputSink> sink,
                                          std::function<void(workers::ResourceResult)> done,
                                          std::shared_ptr<std::atomic<bool>> cancelled) {
  asio::post(pool_, [this, run, sink, done = std::move(done), cancelled] {
    workers::ResourceResult out;
    auto type = workers::MakeBuiltinResourceType("artifact");
    workers::ResourceContext ctx;
    ctx.output = sink.get();
    ctx.cancelled = cancelled.get();
    ctx.artifacts = options_.artifacts;
    ctx.env = run.env;
    try {
      if (run.action == workers::ResourceRun::Action::kCheck) {
        auto versions = type->Check(ctx, run.source, run.version);
        if (versions.ok()) out.versions = std::move(*versions);
        out.error = versions.status();
      } else {
        auto fetched = run.action == workers::ResourceRun::Action::kGet
                           ? type->Get(ctx, run.source, run.version, run.params, run.dir)
                           : type->Put(ctx, run.source, run.params, run.dir);
        if (fetched.ok()) {
          out.version = fetched->version;
          out.metadata = fetched->metadata;
        }
        out.error = fetched.status();
      }
    } catch (const std::exception& e) {
      out.error = Internal(std::string("artifact resource failed: ") + e.what());
    }
    done(std::move(out));
  });
}

}  // namespace baton::webapi
