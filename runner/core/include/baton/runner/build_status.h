// BuildStatus: where a build (or one step of it) stands, with Concourse's meanings.
//
//   pending    created, not started yet
//   started    running
//   succeeded  every step did its part
//   failed     a task exited non-zero, or a step reported failure (the user's code said no)
//   errored    Baton or the environment could not do its part: a missing input or executable,
//              a resource that could not be fetched, a timeout
//   aborted    a user asked the build to stop
//
// Values; thread-safe.
#pragma once

#include <optional>
#include <string_view>

namespace baton::runner {

enum class BuildStatus { kPending, kStarted, kSucceeded, kFailed, kErrored, kAborted };

// "pending", "started", "succeeded", "failed", "errored", "aborted".
const char* ToString(BuildStatus status);
// The inverse of ToString; nullopt for anything else.
std::optional<BuildStatus> ParseBuildStatus(std::string_view text);
// True for succeeded, failed, errored and aborted.
bool IsFinished(BuildStatus status);

}  // namespace baton::runner
