// The workers::HttpTransport seam implemented over webapi::HttpClient, so built-in resource
// types (the `cf` type) speak HTTP and HTTPS through Baton's one client. cli/ passes
// MakeHttpTransportFactory() to LocalWorkerOptions::http_transport.
//
// Thread-safety: the factory may be called from any thread; each transport is used by one
// thread (it owns one HttpClient with a kept-alive connection).
#pragma once

#include "baton/workers/http_transport.h"

namespace baton::webapi {

workers::HttpTransportFactory MakeHttpTransportFactory();

}  // namespace baton::webapi
