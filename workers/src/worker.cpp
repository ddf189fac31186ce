#include "baton/workers/worker.h"
#include "baton/workers/output.h"

namespace baton::workers {

const char* ToString(OutputStream s) {
  switch (s) {
    case OutputStream::kStdout:
      return "stdout";
    case OutputStream::kStderr:
      return "stderr";
    case OutputStream::kSystem:
      return "system";
  }
  return "unknown";
}

const char* ToString(IsolationLevel level) {
  switch (level) {
    case IsolationLevel::kNamespaces:
      return "namespaces";
    case IsolationLevel::kNone:
      return "none";
  }
  return "unknown";
}

}  // namespace baton::workers
