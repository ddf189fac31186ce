// AccessStore: the store role for who may talk to the server and who did — API tokens (only
// their SHA-256 is kept), webhook deliveries (redeliveries are idempotent), registered workers
// and their heartbeats (DESIGN.md §4).
//
// Consumers: the API's auth and webhook handlers, worker registration and heartbeats.
//
// Errors: kNotFound for a missing team, kPermissionDenied for an unknown or expired token,
// kInvalidArgument for a token too short to be safe, kIoError when the database itself fails.
//
// Thread-safety: implementations are safe to call from any thread concurrently.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/runner/store_types.h"

namespace baton::runner {

class AccessStore {
 public:
  virtual ~AccessStore() = default;

  // ---- Workers.
  virtual Status SaveWorker(const WorkerRecord& worker) = 0;  // insert or replace by name
  // By name. A "running" worker whose last heartbeat is older than the store's stall timeout is
  // reported as "stalled".
  virtual Result<std::vector<WorkerRecord>> ListWorkers() = 0;
  virtual Status DeleteWorker(const std::string& name) = 0;

  // ---- Webhook deliveries.
  // False when (provider, delivery_id) was seen before (nothing is written): redeliveries are
  // idempotent.
  virtual Result<bool> RecordWebhookDelivery(const WebhookDelivery& delivery) = 0;
  virtual Status SetWebhookDeliveryStatus(const std::string& provider,
                                          const std::string& delivery_id,
                                          const std::string& status) = 0;
  virtual Result<std::vector<WebhookDelivery>> ListWebhookDeliveries(int limit) = 0;

  // ---- API tokens. Only the SHA-256 of a token is stored.
  virtual Result<ApiToken> CreateApiToken(const std::string& team, const std::string& name,
                                          const std::string& plain_token,
                                          std::optional<SystemTime> expires_at) = 0;
  // The token whose hash matches, if not expired at `now`; records its use.
  // kPermissionDenied when unknown or expired.
  virtual Result<ApiToken> AuthenticateApiToken(const std::string& plain_token, SystemTime now) = 0;
  virtual Result<std::vector<ApiToken>> ListApiTokens(const std::string& team) = 0;
  virtual Status RevokeApiToken(Id token_id) = 0;
};

}  // namespace baton::runner
