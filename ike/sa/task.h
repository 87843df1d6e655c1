// The task model (as strongSwan's): an IKE SA works through a queue of tasks, one per exchange.
// A task instance acts either as the initiator of its exchange (BuildRequest, then
// ProcessResponse) or as its responder (ProcessRequest builds the response); IkeSa takes care of
// message IDs, encryption, retransmission and the response cache around them.
#pragma once

#include <memory>
#include <vector>

#include <optional>
#include <string>

#include "ike/crypto/secret_bytes.h"
#include "ike/encoding/ike_types.h"
#include "ike/encoding/payloads.h"
#include "ike/sa/child_sa.h"

namespace portcullis::ike {

class IkeSa;
struct ChildConfig;

enum class TaskKind {
  kIkeInit,
  kIkeAuth,
  kChildCreate,
  kChildRekey,
  kChildDelete,
  kIkeDelete,
  kIkeRekey,
  kDpd,
  kInformational,
};
const char* TaskKindName(TaskKind k);

enum class TaskOutcome {
  kDone,   // exchange complete (successfully or with a failure that leaves the IKE SA up)
  kRetry,  // send a rebuilt request: IKE_SA_INIT with the same message ID, else a new one
  kFatal,  // the IKE SA cannot go on: destroy it
};

// What an exchange of ours that changes state at the peer (CREATE_CHILD_SA: a CHILD SA created or
// rekeyed, the IKE SA rekeyed) needs to take its answer in another process: the hitless restart
// saves it with the request (ike_sa_state.h), and RestoreTask rebuilds the task, so the peer's
// answer, from its response cache if it answered before, is processed as ours.
struct InFlightExchange {
  TaskKind kind = TaskKind::kInformational;  // kChildCreate, kChildRekey or kIkeRekey
  std::string child;                         // CHILD: the child config's name
  uint32_t spi_in = 0;                       // CHILD: the inbound SPI we proposed
  uint32_t rekey_spi_in = 0;                 // CHILD rekey: our inbound SPI of the SA it replaces
  std::vector<TrafficSelector> tsi, tsr;     // CHILD: the selectors we proposed
  IkeSpi ike_spi{};                          // IKE rekey: our SPI of the new IKE SA
  Bytes nonce;                               // ours
  DhGroup group = DhGroup::kNone;            // KE (PFS or the IKE rekey's), kNone without
  SecretBytes dh_private;                    // DhKeyPair::PrivateKey of our KE
  // CHILD rekey collision (RFC 7296 2.8.1) noted before the save: we answered the peer's rekey
  // of the same SA, making its SA `peer_new_spi_in`; the lower of its two nonces decides.
  bool collided = false;
  uint32_t peer_new_spi_in = 0;
  Bytes peer_min_nonce;
};

class Task {
 public:
  virtual ~Task() = default;
  virtual TaskKind kind() const = 0;
  virtual ExchangeType exchange() const = 0;

  // Initiator.
  virtual bool BuildRequest(IkeSa& sa, std::vector<Payload>& out) = 0;  // false: abandon task
  virtual TaskOutcome ProcessResponse(IkeSa& sa, const std::vector<Payload>& in) = 0;
  // Called when the peer never answered (retransmissions exhausted).
  virtual void Timeout(IkeSa&) {}
  // Called when a queued task is discarded unstarted (the IKE SA can no longer run it).
  virtual void Dropped(IkeSa&) {}

  // Responder: `in` is the request, `out` the response to build.
  virtual void ProcessRequest(IkeSa& sa, const std::vector<Payload>& in,
                              std::vector<Payload>& out) = 0;
  // Responder, after the response went out.
  virtual void AfterResponse(IkeSa&) {}

  // Initiator, request sent: what a restarted process needs to finish the exchange; nullopt
  // for exchanges whose answer changes nothing here (liveness checks, deletes).
  virtual std::optional<InFlightExchange> SaveInFlight() const { return std::nullopt; }
};

// Factories (one file per task in sa/tasks/: ike_init.cc, ike_auth.cc, child_create.cc,
// child_rekey.cc, child_delete.cc, ike_delete.cc, ike_rekey.cc, dpd.cc, informational.cc).
std::unique_ptr<Task> NewIkeInitTask();
std::unique_ptr<Task> NewIkeAuthTask();
// A new CHILD SA for `config` (a copy is kept).
std::unique_ptr<Task> NewChildCreateTask(const ChildConfig* config);
// RFC 9611: one more CHILD SA of `config`'s per-worker group, for `worker` (child_create.cc).
std::unique_ptr<Task> NewChildMemberTask(const ChildConfig& config, int worker);
// Rekey of our CHILD SA with inbound SPI `spi_in`; responder instances take nullptr config.
std::unique_ptr<Task> NewChildRekeyTask(uint32_t spi_in);
std::unique_ptr<Task> NewChildDeleteTask(std::vector<uint32_t> spis_in);
std::unique_ptr<Task> NewIkeDeleteTask();
std::unique_ptr<Task> NewIkeRekeyTask();
std::unique_ptr<Task> NewDpdTask();
// Responder for an INFORMATIONAL with only notifications.
std::unique_ptr<Task> NewInformationalTask();
// The task a saved InFlightExchange stands for, its request already sent (the caller sends it
// again); nullptr when it cannot be rebuilt (the tunnel is no longer configured, the key is
// unusable): the answer is then taken without it.
std::unique_ptr<Task> RestoreTask(IkeSa& sa, const InFlightExchange& x);
// Its parts, one per task file.
std::unique_ptr<Task> RestoreChildCreateTask(IkeSa& sa, const InFlightExchange& x,
                                             const ChildConfig& config);
std::unique_ptr<Task> RestoreChildRekeyTask(IkeSa& sa, const InFlightExchange& x,
                                            const ChildConfig& config);
std::unique_ptr<Task> RestoreIkeRekeyTask(IkeSa& sa, const InFlightExchange& x);

// Helpers shared by tasks.
const NotifyPayload* FindNotify(const std::vector<Payload>& in, NotifyType type);
// The first error notification, if any.
const NotifyPayload* FirstErrorNotify(const std::vector<Payload>& in);
Payload MakeNotify(NotifyType type, Bytes data = {}, ProtocolId protocol = ProtocolId::kNone,
                   Bytes spi = {});
template <typename T>
const T* FindPayload(const std::vector<Payload>& in, PayloadType type) {
  for (const Payload& p : in) {
    if (p.type == type) return p.As<T>();
  }
  return nullptr;
}

}  // namespace portcullis::ike
