// What one peer connection needs from the configuration, in IKE terms: proposals as IKEv2
// transforms, identities as ID payloads, traffic selectors, lifetimes and timers. vpnd builds
// these from the configuration model (control/vpnd/config_mapping.h); tests build them by hand.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ike/crypto/secret_bytes.h"
#include "ike/encoding/ike_types.h"
#include "ike/encoding/payloads.h"
#include "ike/sa/endpoint.h"

namespace portcullis::ike {

struct RetransmitConfig {
  uint32_t tries = 5;    // retransmissions before giving up
  double timeout = 4.0;  // seconds before the first retransmission
  double base = 1.8;     // each next wait is `base` times longer
};

enum class DpdAction { kHold, kClear, kRestart };
const char* DpdActionName(DpdAction a);

// What happens when the peer closes (deletes) the IKE SA or a tunnel's last CHILD SA outside a
// rekey (ike-group close-action none | trap | start): nothing, (kRestart, `start`) it is set up
// again at once, or (kHold, `trap`) on the tunnel's next packet: the dataplane's acquire
// (Restart::kTrap, IkeManager::Acquire).
enum class CloseAction { kNone, kClear, kHold, kRestart };
const char* CloseActionName(CloseAction a);

struct ChildConfig {
  std::string name;        // "peer-192.0.2.2-tunnel-1" or "peer-192.0.2.2-tunnel-vti"
  uint32_t tunnel_id = 0;  // policy-based tunnel number; 0 with vti
  bool vti = false;
  // Where the CHILD SA's decrypted traffic arrives: its VTI ("vti2"), or the VFP a
  // policy-based tunnel uses (`tunnel 1 uses vfp1`; vti false); empty = none.
  std::string vti_interface;
  std::vector<TrafficSelector> local_ts, remote_ts;
  // ESP proposals, without DH transforms; the PFS group is added for CREATE_CHILD_SA.
  std::vector<Proposal> esp_proposals;
  DhGroup pfs = DhGroup::kNone;
  uint32_t lifetime = 3600;  // seconds
  uint64_t life_bytes = 0, life_packets = 0;
  // Anti-replay window of the inbound SA, packets (0 = off); IKE does not negotiate it.
  uint32_t replay_window = 1024;
  uint32_t reqid = 0;  // stable per child config, assigned by vpnd
  bool operator==(const ChildConfig&) const = default;
};

struct IkeSaConfig {
  std::string name;      // "peer-192.0.2.2"
  std::string peer_key;  // the configured peer key ("192.0.2.2", "SITE-B")
  Address local;         // unspecified = any (take what the datagram arrived on)
  Address remote;        // unspecified = any peer (respond only)
  bool remote_any = false;
  IdPayload local_id, remote_id;
  std::string local_id_text, remote_id_text;
  // The peer may authenticate with any identity (`peer any`, or no remote-id and no address);
  // otherwise its IDi must be remote_id, whether or not it has an address.
  bool any_remote_id = false;
  SharedSecret psk;
  std::vector<Proposal> ike_proposals;  // protocol IKE, no SPI
  uint32_t ike_lifetime = 28800;        // seconds
  // At the end of ike_lifetime the IKE SA is reauthenticated make-before-break (a new IKE SA
  // with new CHILD SAs, set up beside the old ones, which are deleted once it is complete)
  // instead of rekeyed with CREATE_CHILD_SA: `security vpn ike make-before-break`, as Vyatta's
  // strongSwan reauthenticates IKEv2 SAs. Only with a peer address to initiate to.
  bool reauth = false;
  bool initiate = true;  // connection-type initiate | respond
  bool force_encap = false;
  uint32_t dpd_interval = 0;  // 0 = no DPD
  DpdAction dpd_action = DpdAction::kHold;
  // A liveness check unanswered this long (seconds) declares the peer dead, even if the
  // retransmission schedule would go on; 0: the schedule alone decides.
  uint32_t dpd_timeout = 0;
  CloseAction close_action = CloseAction::kNone;
  std::vector<ChildConfig> children;
  std::string description;
  bool operator==(const IkeSaConfig&) const = default;
};

// When to rekey an SA of `lifetime` seconds: lifetime - margin - random(0..margin), margin 540 s
// (Vyatta's rekeymargin) or a quarter of short lifetimes, as charon's rekey fuzz does.
// `fuzz_share` (0..1) scales the random part: 0 rekeys at lifetime - margin exactly.
absl::Duration RekeyDelay(uint32_t lifetime, double fuzz_share = 1.0);
// `d` scaled by a random factor in [0.75, 1.25]: retries of many tunnels (re-initiations, CHILD
// rekeys refused with TEMPORARY_FAILURE) spread out instead of meeting again in lockstep.
absl::Duration Jitter(absl::Duration d);

// An ID payload from the text an operator writes: an IPv4/IPv6 address, "@fqdn" or a bare
// name (FQDN), "user@domain" (user FQDN), "@#hex" (key id). strongSwan's rules.
IdPayload IdFromText(const std::string& text);
// The other way, for logs and show output: "192.0.2.1", "site-a@example.com", "@#0102". FQDN and
// RFC822 bytes are escaped (EscapePeerBytes): an identity is the first thing a peer chooses.
std::string IdToText(const IdPayload& id);

// Whether `peer_id` is an identity `config` accepts for the peer.
bool RemoteIdMatches(const IkeSaConfig& config, const IdPayload& peer_id);

}  // namespace portcullis::ike
