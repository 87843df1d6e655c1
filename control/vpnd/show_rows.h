// The rows of the `show vpn` views: what each view shows, gathered once from the IKE state
// (show_gather.h) and rendered as Vyatta's text layouts (show_text.h) or as JSON (show_json.h).
// Plain values only, so both renderers print the same values and tests can build rows by hand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace portcullis::vpnd {

// The heading of a peer in `show vpn ike sa` and `show vpn ipsec sa [statistics]`: the
// configured connection.
struct PeerHeading {
  std::string name;      // "peer-192.0.2.2"
  std::string peer_id;   // the remote identity as configured
  std::string peer_ip;   // "" when the peer has no address ("any")
  std::string local_id;  // the local identity as configured
  std::string local_ip;  // "" when the local address is not set
  std::string description;
};

// ---- show vpn ike sa ----

// An IKE SA that exists (in any state).
struct IkeSaValues {
  uint32_t unique_id = 0;
  std::string spi_i, spi_r;  // hex
  bool initiator = false;    // we started it
  bool nat_local = false, nat_remote = false;
  std::string local_endpoint, remote_endpoint;  // "192.0.2.1[500]"
  std::string ike_state;                        // "ESTABLISHED"
};

// One line of a peer: its IKE SA, or "down" when it has none.
struct IkeSaRow {
  std::string state;  // up | init | down
  // Vyatta's names of the negotiated algorithms; "n/a" until established.
  std::string encryption = "n/a", hash = "n/a", dh_group = "n/a";
  int64_t active_time = 0;  // seconds since established
  uint32_t lifetime = 0;    // configured, seconds
  std::optional<IkeSaValues> sa;
  std::string ike_version = "n/a";  // the IKE SA's: "2"; "n/a" without one
};

struct IkeSaPeer {
  PeerHeading heading;
  std::vector<IkeSaRow> sas;
};

// ---- show vpn ipsec sa [detail | statistics] ----

// A traffic selector list as Vyatta shows it: network(s), protocol and port in their own fields.
struct SelectorFields {
  std::string net, protocol, port;
};

// A CHILD SA that exists (in any state).
struct ChildRow {
  std::string name;  // the child config: "peer-192.0.2.2-tunnel-vti"
  uint32_t id = 0;   // {N}
  // IKE has it (installed or rekeying) and its SAs are installed where they carry traffic.
  bool up = false;
  // Its SAs are in the dataplane (the SA installer says so): without, there are no counters.
  bool installed = false;
  // strongSwan's state names: "INSTALLED" only when the SAs are installed; "CREATED" for a
  // CHILD SA that nothing holds (kernel-socket mode), "INSTALLING" while the dataplane has not
  // acknowledged it yet.
  std::string child_state;
  uint64_t bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
  std::string encryption, hash;  // Vyatta's names
  std::string dh_group;          // the PFS group, "n/a" without PFS
  int64_t active_time = 0;       // seconds since installed
  uint32_t spi_in = 0, spi_out = 0, reqid = 0;
  std::string proposal;             // "AES_GCM_16_128"
  std::string local_ts, remote_ts;  // "10.1.0.0/24"
  bool udp_encap = false;
  bool esn = false;            // extended sequence numbers negotiated
  uint32_t replay_window = 0;  // of the inbound SA, packets; 0 = anti-replay off
  bool rekeying = false;
  std::optional<absl::Duration> rekey_in;  // none: no rekey scheduled
};

// A configured tunnel and its CHILD SA, if any.
struct TunnelRow {
  std::string tunnel;  // "vti" or the tunnel number
  uint32_t lifetime = 0;
  // From the CHILD SA when there is one (what was negotiated), else from the configuration.
  SelectorFields local, remote;
  std::optional<ChildRow> child;
  bool up() const { return child && child->up; }
};

// A peer's tunnels (`show vpn ipsec sa` and `... statistics`).
struct TunnelPeer {
  PeerHeading heading;
  std::vector<TunnelRow> tunnels;
};

// `show vpn ipsec sa detail`: one block per established IKE SA (a peer without an address
// serves several), or one for a peer that has none.
struct DetailBlock {
  std::string name;
  std::string peer_ip, peer_id, local_ip, local_id;  // of the IKE SA when there is one
  bool nat = false;
  uint16_t nat_source_port = 0, nat_dest_port = 0;  // with NAT only
  std::string description;
  std::vector<TunnelRow> tunnels;
};

// ---- show vpn debug ----

struct DebugChildConfig {
  std::string name, local_ts, remote_ts;
};

struct DebugSa {
  uint32_t unique_id = 0;
  std::string state;  // "ESTABLISHED"
  bool established = false;
  absl::Duration age;         // since established, or since created when not (yet)
  std::string local, remote;  // endpoints
  std::string spi_i, spi_r;
  bool initiator = false;
  std::optional<absl::Duration> rekey_in;  // established SAs with a rekey scheduled
  bool reauth = false;   // rekey_in is a reauthentication (make-before-break), not a rekey
  std::string proposal;  // "" until established
  std::vector<ChildRow> children;
  std::string ike_version;  // "2"
};

struct DebugPeer {
  std::string name;
  std::string local, remote;  // addresses, "%any" when not set
  std::string local_id, remote_id;
  std::vector<DebugChildConfig> children;
  std::vector<DebugSa> sas;
  // strongSwan's auth class each side must prove: "pre-shared key" when the connection has one,
  // "any" when nothing is required.
  std::string local_auth, remote_auth;
};

}  // namespace portcullis::vpnd
