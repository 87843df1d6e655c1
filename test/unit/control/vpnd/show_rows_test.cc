// The rows of each `show vpn` view render as Vyatta text and as JSON: rows built by hand, both
// renderings read back, and every value the text shows is the value the JSON carries.
#include "control/vpnd/show_rows.h"

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/vpnd/show_json.h"
#include "control/vpnd/show_text.h"

using namespace portcullis::vpnd;

namespace {

using Object = std::map<std::string, std::string>;  // key -> value (strings unquoted)

// The objects of a JSON array, each as its top-level fields (nested arrays are not kept).
std::vector<Object> Objects(const std::string& json) {
  std::vector<Object> out;
  int depth = 0;  // 1 inside the array, 2 inside one of its objects
  std::string token, key;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\' && i + 1 < json.size()) {
        token += json[++i];
      } else if (c == '"') {
        in_string = false;
      } else {
        token += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        if (++depth == 2 && c == '{') out.emplace_back();
        break;
      case ':':
        if (depth == 2) key = token;
        token.clear();
        break;
      case ',':
      case '}':
      case ']':
        if (depth == 2 && !key.empty()) out.back()[key] = token;
        key.clear();
        token.clear();
        if (c != ',') --depth;
        break;
      default:
        if (depth == 2) token += c;
    }
  }
  return out;
}

// The whitespace-separated fields of the table lines under each "----" heading line.
std::vector<std::vector<std::string>> TableRows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  bool in_table = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, "    -----") || absl::StartsWith(line, "    ------")) {
      in_table = true;
    } else if (line.empty()) {
      in_table = false;
    } else if (in_table) {
      rows.push_back(absl::StrSplit(line, ' ', absl::SkipEmpty()));
    }
  }
  return rows;
}

PeerHeading Heading() {
  return {"peer-192.0.2.2", "192.0.2.2", "192.0.2.2", "east.example", "192.0.2.1", "to east"};
}

ChildRow Child() {
  ChildRow c;
  c.name = "peer-192.0.2.2-tunnel-1";
  c.id = 42;
  c.up = true;
  c.installed = true;
  c.child_state = "INSTALLED";
  c.bytes_in = 3 * 1024 * 1024;
  c.bytes_out = 700;
  c.packets_in = 3000;
  c.packets_out = 7;
  c.encryption = "aes256";
  c.hash = "sha2_256";
  c.dh_group = "19";
  c.active_time = 125;
  c.spi_in = 0xc0000001;
  c.spi_out = 0xcafe0002;
  c.reqid = 5;
  c.proposal = "AES_CBC_256/HMAC_SHA2_256_128/ECP_256";
  c.local_ts = "10.1.0.0/24";
  c.remote_ts = "10.2.0.0/24";
  c.udp_encap = true;
  c.rekey_in = absl::Seconds(3000);
  return c;
}

std::vector<TunnelPeer> Tunnels() {
  TunnelRow up{"1", 3600, {"10.1.0.0/24", "tcp", "443"}, {"10.2.0.0/24", "all", "all"}, Child()};
  TunnelRow down{"2", 1800, {"10.1.1.0/24", "all", "all"}, {"10.2.1.0/24", "all", "all"}, {}};
  return {{Heading(), {up, down}}};
}

// A CHILD SA IKE negotiated that nothing holds (kernel-socket mode).
TunnelRow NotInstalled() {
  ChildRow c = Child();
  c.id = 43;
  c.up = false;
  c.installed = false;
  c.child_state = "CREATED";
  c.bytes_in = c.bytes_out = c.packets_in = c.packets_out = 0;
  return {"3", 3600, {"10.1.2.0/24", "all", "all"}, {"10.2.2.0/24", "all", "all"}, c};
}

}  // namespace

TEST_CASE("show vpn ike sa: text and JSON carry the same values", "[show]") {
  IkeSaRow up{"up",
              "aes128gcm128",
              "sha2_384",
              "20",
              77,
              28800,
              IkeSaValues{9, "0011223344556677", "8899aabbccddeeff", true, false, true,
                          "192.0.2.1[4500]", "192.0.2.2[4500]", "ESTABLISHED"}};
  up.ike_version = "2";
  IkeSaRow down{"down", "n/a", "n/a", "n/a", 0, 28800, std::nullopt};  // IKE version n/a
  std::vector<IkeSaPeer> peers = {{Heading(), {up, down}}};
  std::string text = IkeSaText(peers);
  std::vector<Object> json = Objects(IkeSaJson(peers));
  INFO(text << IkeSaJson(peers));
  CHECK(absl::StrContains(text, "east.example / 192.0.2.1"));
  CHECK(absl::StrContains(text, "    Description: to east\n"));
  auto rows = TableRows(text);
  REQUIRE(rows.size() == 2);
  REQUIRE(json.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(rows[i][0] == json[i]["state"]);
    CHECK(rows[i][1] == json[i]["encryption"]);
    CHECK(rows[i][2] == json[i]["hash"]);
    CHECK(rows[i][3] == json[i]["dh_group"]);
    CHECK(rows[i][4] == json[i]["active_time"]);
    CHECK(rows[i][5] == json[i]["lifetime"]);
    CHECK(rows[i][6] == json[i]["ike_version"]);
    CHECK(json[i]["local_id"] == "east.example");
    CHECK(json[i]["description"] == "to east");
  }
  CHECK(rows[0][6] == "2");
  CHECK(rows[1][6] == "n/a");
  CHECK(json[0]["unique_id"] == "9");
  CHECK(json[0]["nat_remote"] == "true");
  CHECK(json[1].count("unique_id") == 0);
}

TEST_CASE("show vpn ipsec sa: text and JSON carry the same values", "[show]") {
  std::string text = IpsecSaText(Tunnels());
  std::vector<Object> json = Objects(IpsecSaJson(Tunnels()));
  INFO(text << IpsecSaJson(Tunnels()));
  auto rows = TableRows(text);
  REQUIRE(rows.size() == 2);
  REQUIRE(json.size() == 2);
  const std::vector<std::string>& r = rows[0];
  Object& j = json[0];
  CHECK(r[0] == j["tunnel"]);
  CHECK(r[1] == j["id"]);
  CHECK(r[2] == j["state"]);
  CHECK(r[3] == absl::StrCat(HumanBytes(std::stoull(j["bytes_out"])), "/",
                             HumanBytes(std::stoull(j["bytes_in"]))));
  CHECK(r[3] == "700/3.0M");
  CHECK(r[4] == j["encryption"]);
  CHECK(r[5] == j["hash"]);
  CHECK(r[6] == j["dh_group"]);
  CHECK(r[7] == j["active_time"]);
  CHECK(r[8] == j["lifetime"]);
  CHECK(j["spi_in"] == "c0000001");
  // A tunnel without a CHILD SA: down, with its configured lifetime.
  CHECK(rows[1] ==
        std::vector<std::string>{"2", "down", "n/a", "n/a", "n/a", "n/a", "n/a", "1800"});
  CHECK(
      json[1] ==
      Object{{"peer", "peer-192.0.2.2"}, {"tunnel", "2"}, {"state", "down"}, {"lifetime", "1800"}});
  CHECK(j["installed"] == "true");
}

TEST_CASE("show vpn ipsec sa: a CHILD SA that nothing holds is down, without counters", "[show]") {
  std::vector<TunnelPeer> peers = {{Heading(), {NotInstalled()}}};
  std::string text = IpsecSaText(peers);
  std::vector<Object> json = Objects(IpsecSaJson(peers));
  INFO(text << IpsecSaJson(peers));
  auto rows = TableRows(text);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0] == std::vector<std::string>{"3", "43", "down", "n/a", "aes256", "sha2_256", "19",
                                            "125", "3600"});
  REQUIRE(json.size() == 1);
  CHECK(json[0]["state"] == "down");
  CHECK(json[0]["installed"] == "false");
  CHECK(json[0]["child_state"] == "CREATED");
  auto stats = TableRows(IpsecSaStatisticsText(peers));
  REQUIRE(stats.size() == 2);
  CHECK(stats[0].back() == "n/a");
  CHECK(stats[1].back() == "n/a");
  DetailBlock b{"peer-192.0.2.2", "192.0.2.2", "east", "192.0.2.1", "west", false, 0, 0, "",
                peers[0].tunnels};
  std::string detail = IpsecSaDetailText({b});
  INFO(detail);
  CHECK(absl::StrContains(detail, "        State:                  down\n"));
  CHECK(absl::StrContains(detail, "        Inbound Bytes:          n/a\n"));
  CHECK(absl::StrContains(detail, "        Outbound Packets:       n/a\n"));
  CHECK(absl::StrContains(IpsecSaDetailJson({b}), "\"state\":\"down\",\"installed\":false"));
}

TEST_CASE("show vpn ipsec sa statistics: text and JSON carry the same values", "[show]") {
  std::string text = IpsecSaStatisticsText(Tunnels());
  std::vector<Object> json = Objects(IpsecSaStatisticsJson(Tunnels()));
  INFO(text << IpsecSaStatisticsJson(Tunnels()));
  auto rows = TableRows(text);
  REQUIRE(rows.size() == 4);  // two tunnels, two directions
  REQUIRE(json.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    const auto& r = rows[i];
    Object& j = json[i];
    CHECK(r[0] == j["tunnel"]);
    if (i < 2) {  // the tunnel with a CHILD SA
      CHECK(r[1] == j["id"]);
      CHECK(r[2] == j["direction"]);
      CHECK(r[3] == j["source"]);
      CHECK(r[4] == j["destination"]);
      CHECK(r[5] == HumanBytes(std::stoull(j["bytes"])));
    } else {  // no id, bytes n/a; JSON 0
      CHECK(r[1] == j["direction"]);
      CHECK(r[2] == j["source"]);
      CHECK(r[3] == j["destination"]);
      CHECK(r[4] == "n/a");
      CHECK(j["bytes"] == "0");
    }
  }
  CHECK(rows[0][2] == "in");
  CHECK(rows[0][3] == "10.2.0.0/24");
}

TEST_CASE("show vpn ipsec sa detail: text and JSON carry the same values", "[show]") {
  DetailBlock b{"peer-192.0.2.2",
                "192.0.2.2",
                "east.example",
                "192.0.2.1",
                "west.example",
                true,
                4500,
                4501,
                "to east",
                Tunnels()[0].tunnels};
  std::string text = IpsecSaDetailText({b});
  std::string js = IpsecSaDetailJson({b});
  INFO(text << js);
  std::map<std::string, std::vector<std::string>> fields;  // label -> values in order
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<std::string> kv = absl::StrSplit(line, absl::MaxSplits(':', 1));
    if (kv.size() == 2) {
      fields[std::string(absl::StripAsciiWhitespace(kv[0]))].push_back(
          std::string(absl::StripAsciiWhitespace(kv[1])));
    }
  }
  auto has = [&](const std::string& key, const std::string& value, bool quoted) {
    return absl::StrContains(js, quoted ? absl::StrCat("\"", key, "\":\"", value, "\"")
                                        : absl::StrCat("\"", key, "\":", value));
  };
  CHECK(has("peer_ip", fields["Peer IP"][0], true));
  CHECK(has("peer_id", fields["Peer ID"][0], true));
  CHECK(has("local_ip", fields["Local IP"][0], true));
  CHECK(has("local_id", fields["Local ID"][0], true));
  CHECK(fields["NAT Traversal"][0] == "yes");
  CHECK(has("nat_traversal", "true", false));
  CHECK(has("nat_source_port", fields["NAT Source Port"][0], false));
  CHECK(has("nat_dest_port", fields["NAT Dest Port"][0], false));
  CHECK(has("description", fields["Description"][0], true));
  // The tunnel with a CHILD SA (the first of each label).
  CHECK(has("id", fields["Id"][0], false));
  CHECK(has("spi_in", fields["Inbound SPI"][0], true));
  CHECK(has("spi_out", fields["Outbound SPI"][0], true));
  CHECK(has("encryption", fields["Encryption"][0], true));
  CHECK(has("hash", fields["Hash"][0], true));
  CHECK(has("dh_group", fields["DH Group"][0], true));
  CHECK(has("local_net", fields["Local Net"][0], true));
  CHECK(has("local_protocol", fields["Local Protocol"][0], true));
  CHECK(has("local_port", fields["Local Port"][0], true));
  CHECK(has("remote_net", fields["Remote Net"][0], true));
  CHECK(has("packets_in", fields["Inbound Packets"][0], false));
  CHECK(has("packets_out", fields["Outbound Packets"][0], false));
  CHECK(fields["Inbound Bytes"][0] == HumanBytes(3 * 1024 * 1024));
  CHECK(has("bytes_in", absl::StrCat(3 * 1024 * 1024), false));
  CHECK(fields["UDP Encapsulation"][0] == "yes");
  CHECK(has("udp_encap", "true", false));
  CHECK(has("active_time", fields["Active Time (s)"][0], false));
  CHECK(has("lifetime", fields["Lifetime (s)"][0], false));
  CHECK(fields["Rekey In (s)"][0] == "3000");
  // The tunnel without one: n/a in the text, where the JSON has "n/a" or 0.
  CHECK(fields["State"][1] == "down");
  CHECK(fields["Inbound SPI"][1] == "n/a");
  CHECK(has("spi_in", "n/a", true));
  CHECK(fields["Inbound Bytes"][1] == "n/a");
  CHECK(fields["Lifetime (s)"][1] == "1800");
}

TEST_CASE("show vpn debug: text and JSON carry the same values", "[show]") {
  DebugSa sa;
  sa.unique_id = 3;
  sa.state = "ESTABLISHED";
  sa.established = true;
  sa.age = absl::Minutes(2);
  sa.local = "192.0.2.1[500]";
  sa.remote = "192.0.2.2[500]";
  sa.spi_i = "0011223344556677";
  sa.spi_r = "8899aabbccddeeff";
  sa.initiator = true;
  sa.rekey_in = absl::Hours(7);
  sa.proposal = "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_384";
  sa.children = {Child()};
  sa.ike_version = "2";
  DebugPeer p{"peer-192.0.2.2",
              "192.0.2.1",
              "192.0.2.2",
              "192.0.2.1",
              "192.0.2.2",
              {{"peer-192.0.2.2-tunnel-1", "a", "b"}},
              {sa},
              "pre-shared key",
              "any"};
  std::string text = DebugText({p});
  std::string js = DebugJson({p});
  INFO(text << js);
  CHECK(absl::StrContains(text,
                          "peer-192.0.2.2[3]: ESTABLISHED 2 minutes ago, 192.0.2.1[500]"
                          "[192.0.2.1]...192.0.2.2[500][192.0.2.2]\n"));
  CHECK(absl::StrContains(js,
                          "\"unique_id\":3,\"state\":\"ESTABLISHED\",\"local\":\"192.0.2.1"
                          "[500]\",\"remote\":\"192.0.2.2[500]\""));
  CHECK(absl::StrContains(text,
                          "IKEv2 SPIs: 0011223344556677_i* 8899aabbccddeeff_r, "
                          "pre-shared key rekeying in 7 hours\n"));
  // With make-before-break, as the seed's Vyatta prints it.
  DebugPeer reauth = p;
  reauth.sas[0].reauth = true;
  CHECK(absl::StrContains(DebugText({reauth}),
                          "8899aabbccddeeff_r, pre-shared key reauthentication in 7 hours\n"));
  CHECK(absl::StrContains(text,
                          "peer-192.0.2.2:   local:  [192.0.2.1] uses pre-shared key "
                          "authentication\n"));
  CHECK(absl::StrContains(text, "peer-192.0.2.2:   remote: [192.0.2.2] uses any authentication\n"));
  CHECK(absl::StrContains(js, "\"spi_i\":\"0011223344556677\",\"spi_r\":\"8899aabbccddeeff\""));
  CHECK(absl::StrContains(text, "IKE proposal: " + sa.proposal + "\n"));
  CHECK(absl::StrContains(js, "\"proposal\":\"" + sa.proposal + "\""));
  CHECK(absl::StrContains(text,
                          "peer-192.0.2.2-tunnel-1{42}:  INSTALLED, TUNNEL-in-UDP, reqid 5, "
                          "ESP SPIs: c0000001_i cafe0002_o\n"));
  CHECK(absl::StrContains(js,
                          "{\"name\":\"peer-192.0.2.2-tunnel-1\",\"unique_id\":42,\"state\":"
                          "\"INSTALLED\",\"reqid\":5,\"spi_in\":\"c0000001\",\"spi_out\":"
                          "\"cafe0002\""));
  CHECK(absl::StrContains(text, "3145728 bytes_i, 700 bytes_o, rekeying in 50 minutes\n"));
  CHECK(absl::StrContains(js, "\"bytes_in\":3145728,\"bytes_out\":700"));
  CHECK(absl::StrContains(text, "{42}:   10.1.0.0/24 === 10.2.0.0/24\n"));
  CHECK(absl::StrContains(js, "\"local_ts\":\"10.1.0.0/24\",\"remote_ts\":\"10.2.0.0/24\""));
}

TEST_CASE("HumanBytes: Vyatta's conv_bytes", "[show]") {
  CHECK(HumanBytes(512) == "512");
  CHECK(HumanBytes(2048) == "2.0K");
  CHECK(HumanBytes(298115072) == "284.3M");
  CHECK(HumanBytes(29205000000ull) == "27.2G");
}
