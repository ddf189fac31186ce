// PipelineStore conformance for resource versions' metadata, run against every implementation:
// a put saves a version with metadata (an artifact's digest, files, bytes); the resource's next
// check finds the same version without metadata and must not wipe it, while a check that
// brings metadata of its own (git: author, message) replaces it.
#include "store_conformance.h"

namespace baton::runner::conformance {
namespace {

class ResourceVersionMetadataConformance : public StoreConformanceTest {
 protected:
  void SetUp() override {
    StoreConformanceTest::SetUp();
    Open();
    auto p = pipelines().SetPipeline(Update("app", {}, {"reports"}));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    auto r = pipelines().GetResource(p->id, "reports");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    resource_ = r->id;
  }
  Json Metadata(const std::string& version) {
    auto v = pipelines().FindResourceVersion(resource_, Json{{"digest", version}});
    return v.ok() ? v->metadata : Json(v.status().ToString());
  }
  Id resource_ = 0;
};

const Json kPutMetadata =
    Json::array({{{"name", "files"}, {"value", "3"}}, {{"name", "bytes"}, {"value", "5120"}}});

TEST_P(ResourceVersionMetadataConformance, ACheckWithoutMetadataKeepsThePutsMetadata) {
  ASSERT_TRUE(
      pipelines().SaveResourceVersions(resource_, {{Json{{"digest", "d1"}}, kPutMetadata}}).ok());
  // The next check lists d1 (no metadata) and a newer d2.
  auto checked = pipelines().SaveResourceVersions(
      resource_, {{Json{{"digest", "d1"}}, Json::array()}, {Json{{"digest", "d2"}}, Json()}});
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_EQ((*checked)[0].metadata, kPutMetadata) << "what the save returns is what is stored";
  EXPECT_EQ(Metadata("d1"), kPutMetadata);
  EXPECT_TRUE(Metadata("d2").empty()) << Metadata("d2").dump();
  Open();  // and it is on disk, not only in the answer
  EXPECT_EQ(Metadata("d1"), kPutMetadata);
  auto versions = pipelines().ListResourceVersions(resource_, VersionPage{});
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[1].metadata, kPutMetadata);
}

TEST_P(ResourceVersionMetadataConformance, ACheckWithMetadataOfItsOwnReplacesIt) {
  ASSERT_TRUE(
      pipelines().SaveResourceVersions(resource_, {{Json{{"digest", "d1"}}, kPutMetadata}}).ok());
  const Json newer = Json::array({{{"name", "files"}, {"value", "4"}}});
  ASSERT_TRUE(pipelines().SaveResourceVersions(resource_, {{Json{{"digest", "d1"}}, newer}}).ok());
  EXPECT_EQ(Metadata("d1"), newer);
  ASSERT_EQ(pipelines().ListResourceVersions(resource_, VersionPage{})->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Store, ResourceVersionMetadataConformance,
                         ::testing::ValuesIn(StoreImplementations()), ImplementationName);

}  // namespace
}  // namespace baton::runner::conformance
