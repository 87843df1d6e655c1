// The CHILD SA half of IKE_AUTH and CREATE_CHILD_SA, shared by ike_auth, child_create and
// child_rekey: building the SA/Nonce/KE/TS payloads of a request, checking the response and
// installing the CHILD SA, and the responder's choice of child config, proposal and narrowed
// selectors. Failures are logged with both sides' values (proposals, selectors, DH groups).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ike/crypto/dh_group.h"
#include "ike/encoding/payloads.h"
#include "ike/sa/child_sa.h"
#include "ike/sa/ike_config.h"
#include "ike/sa/task.h"

namespace portcullis::ike {

class IkeSa;
class Task;

class IkeSaContext;

struct ChildRequest {
  ChildRequest() = default;
  ChildRequest(const ChildRequest&) = delete;
  ChildRequest& operator=(const ChildRequest&) = delete;
  // Gives spi_in back unless a CHILD SA took it: a failed, refused or abandoned exchange (the IKE
  // SA going away while it is in flight included) must not keep its SPI reserved.
  ~ChildRequest();
  // A fresh inbound SPI for this attempt; the previous attempt's goes back. False (logged) when
  // none can be had: the caller abandons the exchange.
  bool AllocateSpi(IkeSa& sa);

  ChildConfig config;
  uint32_t spi_in = 0;
  IkeSaContext* spi_owner = nullptr;  // set while spi_in is reserved for this request
  DhGroup group = DhGroup::kNone;     // PFS group of this attempt
  std::unique_ptr<DhKeyPair> dh;
  Bytes nonce;
  std::vector<TrafficSelector> tsi, tsr;
  uint32_t rekey_spi_in = 0;  // REKEY_SA: our inbound SPI of the SA being replaced
  Bytes peer_nonce;           // set once the response is in
  // RFC 9611: the worker this CHILD SA is offered for with SA_RESOURCE_INFO; -1: no notify.
  int worker = -1;
};

// RFC 9611 per-resource CHILD SAs. Whether `config`'s CHILD SAs are offered (and accepted) as a
// group on `sa`: more than one dataplane worker (IkeSaContext::ChildResources) and a
// route-based tunnel (a policy-based tunnel's protect policies do not point at groups).
bool OffersGroup(IkeSa& sa, const ChildConfig& config);
// The lowest worker without a CHILD SA of `config`'s group on `sa` (installed or being
// rekeyed), or -1 when every worker has one or no group is offered.
int FreeWorker(IkeSa& sa, const ChildConfig& config);

// Hitless restart: the request's part of an InFlightExchange (kind and child name set by the
// caller), and a request rebuilt from one (its SPI reserved again); false, logged, when its DH
// key cannot be rebuilt.
bool SaveChildRequest(const ChildRequest& req, InFlightExchange& x);
bool RestoreChildRequest(IkeSa& sa, const InFlightExchange& x, const ChildConfig& config,
                         ChildRequest& req);

// The request payloads; false when no DH key or nonce could be made.
bool AppendChildRequest(IkeSa& sa, ChildRequest& req, bool ike_auth, std::vector<Payload>& out);

enum class ChildResult { kInstalled, kFailed, kRetry };
// Checks the response and installs the CHILD SA; *installed points at it.
ChildResult ProcessChildResponse(IkeSa& sa, ChildRequest& req, bool ike_auth,
                                 const std::vector<Payload>& in, ChildSa** installed);

// Responder. `rekeyed` is the SA a REKEY_SA names (nullptr for a new CHILD SA).
void RespondChild(IkeSa& sa, const std::vector<Payload>& in, std::vector<Payload>& out,
                  bool ike_auth, ChildSa* rekeyed);

// child_rekey.cc: our own rekey of the same CHILD SA met the peer's (RFC 7296 2.8.1); the task
// decides which of the two new SAs goes once its own exchange ends.
void NoteRekeyCollision(Task* active, uint32_t old_spi_in, uint32_t peer_new_spi_in,
                        const Bytes& ni, const Bytes& nr);

uint32_t SpiFromBytes(const Bytes& b);
Bytes SpiToBytes(uint32_t spi);

}  // namespace portcullis::ike
