// The plan of a job as JSON, for `GET /api/v1/builds/:id/plan`: the step tree with each step's
// type, name, resource, modifiers and hooks, as the build was created. Values users may treat as
// secret (params, vars, task config) are left out; a step's `path` says where it is in the
// pipeline file.
//
//   {"schema": "baton.plan.v1", "job": "unit",
//    "plan": [{"get": {"name": "repo", "resource": "repo", "passed": ["build"],
//                      "trigger": true}, "path": "jobs.unit.plan[0]"},
//             {"task": {"name": "test", "file": "repo/ci/test.yml"}, "attempts": 2,
//              "on_failure": {...}}]}
//
// Pure; thread-safe.
#pragma once

#include "baton/common/json.h"
#include "baton/pipelines/pipeline_config.h"

namespace baton::runner {

Json JobPlanJson(const pipelines::Job& job);

}  // namespace baton::runner
