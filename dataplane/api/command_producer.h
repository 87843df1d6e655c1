// Putting a batch on the command ring, all or nothing, from any of several client processes.
//
// rte_ring's multi-producer modes let each producer reserve space and then copy into it; a
// producer killed between the two leaves a reservation nobody will ever publish, every later
// producer spins behind it forever, and nothing records which range was torn. Clients here
// instead take turns through a lock word in the header holding the enqueuer's pid, and use the
// ring in single-producer mode. A dead holder is then identified exactly: whoever finds the
// lock held by a dead pid (the next client, or the server while polling) takes it over, wipes
// the half-written range past the producer tail and rolls the head back to the tail. The
// server, the ring's only consumer, never takes part and never waits.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "dataplane/api/channel_view.h"
#include "dataplane/api/messages.h"

namespace portcullis::dp::api {

inline constexpr absl::Duration kDefaultProducerWait = absl::Milliseconds(200);

// Enqueues the whole batch or nothing: Unavailable if the ring lacks room (for the batch and
// `min_free_after` slots more) or another live process keeps the producer lock for longer than
// `wait`. `token` is the caller's pid. A streamed batch's chunks keep a chunk's room free, so
// one client streaming never leaves another's batch of a chunk without room.
absl::Status EnqueueCommands(const ChannelView& view, absl::Span<const Message> batch,
                             int32_t token, absl::Duration wait = kDefaultProducerWait,
                             uint32_t min_free_after = 0);

// The lock itself, exposed for the server's recovery and for tests that need a client to die
// holding it. Acquire returns false after `wait`, with the holder's pid in *holder.
bool AcquireProducer(const ChannelView& view, int32_t token, absl::Duration wait, int32_t* holder);
void ReleaseProducer(const ChannelView& view, int32_t token);

// If a dead process holds the lock: take it, roll back its torn enqueue, release. Returns
// whether there was anything to recover.
bool RecoverDeadProducer(const ChannelView& view, int32_t token);

}  // namespace portcullis::dp::api
